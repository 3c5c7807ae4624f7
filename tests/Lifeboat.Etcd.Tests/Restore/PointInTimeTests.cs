using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Etcd.Restore;
using Lifeboat.Etcd.Snapshots;
using Lifeboat.Storage.Local;
using Lifeboat.Testing;

namespace Lifeboat.Etcd.Tests.Restore;

/// <summary>--to-time against a chain whose clock the test drives.</summary>
public sealed class PointInTimeTests : EtcdTest
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Restore_ToTime_StopsAtTheLastRevisionObservedBeforeIt()
    {
        using var client = Etcd.CreateClient();
        var clock = new ManualTimeProvider(T0);
        var store = LocalDirectoryStore.Open(Dir.Combine("store"));
        var full = await new FullSnapshotter(client, store, clock).TakeAsync(Compression.None, null, default);
        var capture = new DeltaCapture(client, store, new DeltaOptions(), clock);

        clock.Advance(TimeSpan.FromMinutes(1));
        var early = (await client.PutAsync("/pit/early", "1", default)).Header.Revision;
        var end = (await capture.CaptureToNowAsync(full.Name.LastRevision, default)).ReachedRevision;
        clock.Advance(TimeSpan.FromMinutes(9));
        var late = (await client.PutAsync("/pit/late", "2", default)).Header.Revision;
        await capture.CaptureToNowAsync(end, default);
        var snapshots = await SnapshotCatalog.ListAsync(store, default);
        var member = LoopbackMember();

        var between = await new EtcdRestorer(store).RestoreAsync(RestorePlanner.Plan(snapshots, RestoreTarget.AtTime(T0.AddMinutes(5))),
            new RestoreOptions { DataDir = Dir.Combine("at-5m"), Member = member }, null, default);
        var before = await new EtcdRestorer(store).RestoreAsync(RestorePlanner.Plan(snapshots, RestoreTarget.AtTime(T0.AddSeconds(30))),
            new RestoreOptions { DataDir = Dir.Combine("at-30s"), Member = member }, null, default);
        var after = await new EtcdRestorer(store).RestoreAsync(RestorePlanner.Plan(snapshots, RestoreTarget.AtTime(T0.AddMinutes(10))),
            new RestoreOptions { DataDir = Dir.Combine("at-10m"), Member = member }, null, default);

        Assert.Equal(early, between.Revision);
        Assert.Equal(full.Name.LastRevision, before.Revision);
        Assert.Equal(late, after.Revision);
        await using var restored = await EtcdServer.StartAsync(dataDir: Dir.Combine("at-5m"));
        using var restoredClient = restored.CreateClient();
        Assert.Single((await restoredClient.GetAsync("/pit/early", default)).Kvs);
        Assert.Empty((await restoredClient.GetAsync("/pit/late", default)).Kvs);
    }
}
