using Lifeboat.Core.Errors;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Etcd.Restore;
using Lifeboat.Etcd.Snapshots;
using Lifeboat.Storage.Local;
using Lifeboat.Testing;

namespace Lifeboat.Etcd.Tests.Restore;

/// <summary>Crash-style tests: damaged deltas, expiring leases. The data directory is never touched by a failed restore.</summary>
public sealed class RestoreFailureTests : EtcdTest
{
    /// <summary>A full snapshot and three deltas of a few revisions each; returns the store and the deltas' keys.</summary>
    private async Task<(LocalDirectoryStore Store, List<StoredDelta> Deltas)> ChainAsync()
    {
        using var client = Etcd.CreateClient();
        var store = LocalDirectoryStore.Open(Dir.Combine("store"));
        await client.PutAsync("/c/base", "0", default);
        var full = await new FullSnapshotter(client, store).TakeAsync(Compression.None, null, default);
        var capture = new DeltaCapture(client, store, new DeltaOptions());
        var deltas = new List<StoredDelta>();
        var end = full.Name.LastRevision;
        for (var d = 0; d < 3; d++)
        {
            for (var i = 0; i < 3; i++)
            {
                await client.PutAsync($"/c/{d}/{i}", new string('x', 100), default);
            }

            var result = await capture.CaptureToNowAsync(end, default);
            deltas.AddRange(result.Deltas);
            end = result.ReachedRevision;
        }

        return (store, deltas);
    }

    private static async Task<RestorePlan> PlanAsync(LocalDirectoryStore store, RestoreTarget target) =>
        RestorePlanner.Plan(await SnapshotCatalog.ListAsync(store, default), target);

    [Fact]
    public async Task Restore_TornLastDelta_NamesTheFile_LeavesDataDirAlone_AndEarlierRevisionsStillRestore()
    {
        var (store, deltas) = await ChainAsync();
        var last = Path.Combine(Dir.Path, "store", deltas[^1].Key);
        var bytes = await File.ReadAllBytesAsync(last);
        await File.WriteAllBytesAsync(last, bytes[..(bytes.Length / 2)]); // a crash mid-write on a store without atomic commits
        var dataDir = Dir.Combine("restored");

        var ex = await Assert.ThrowsAsync<IntegrityException>(async () =>
            await new EtcdRestorer(store).RestoreAsync(await PlanAsync(store, RestoreTarget.Latest), new RestoreOptions { DataDir = dataDir, Member = LoopbackMember() }, null, default));

        Assert.Contains(deltas[^1].Key, ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dataDir));

        var target = deltas[^2].Name.LastRevision;
        var result = await new EtcdRestorer(store).RestoreAsync(await PlanAsync(store, RestoreTarget.AtRevision(target)),
            new RestoreOptions { DataDir = dataDir, Member = LoopbackMember() }, null, default);
        Assert.Equal(target, result.Revision);
    }

    [Fact]
    public async Task Restore_ContradictingMemberFlags_AreRefusedBeforeAnyWork()
    {
        var (store, _) = await ChainAsync();
        var dataDir = Dir.Combine("restored");
        var flags = new MemberFlags { Name = "etcd-0", InitialCluster = "etcd-0=http://10.0.0.1:2380", InitialAdvertisePeerUrls = "http://10.0.0.2:2380" };

        var ex = await Assert.ThrowsAsync<RestoreRefusedException>(async () =>
            await new EtcdRestorer(store).RestoreAsync(await PlanAsync(store, RestoreTarget.Latest), new RestoreOptions { DataDir = dataDir, Member = flags }, null, default));

        Assert.Contains("--initial-advertise-peer-urls", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--initial-cluster", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dataDir));
        var wrongName = flags with { Name = "etcd-9", InitialAdvertisePeerUrls = "http://10.0.0.1:2380" };
        Assert.Contains("--name", Assert.Throws<RestoreRefusedException>(wrongName.Validate).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_CorruptedDelta_FailsOnItsChecksumBeforeTouchingAnything()
    {
        var (store, deltas) = await ChainAsync();
        var middle = Path.Combine(Dir.Path, "store", deltas[1].Key);
        var bytes = await File.ReadAllBytesAsync(middle);
        bytes[bytes.Length / 2] ^= 0x01; // one flipped bit inside a value
        await File.WriteAllBytesAsync(middle, bytes);
        var dataDir = Dir.Combine("restored");

        var ex = await Assert.ThrowsAsync<IntegrityException>(async () =>
            await new EtcdRestorer(store).RestoreAsync(await PlanAsync(store, RestoreTarget.Latest), new RestoreOptions { DataDir = dataDir, Member = LoopbackMember() }, null, default));

        Assert.Contains(deltas[1].Key, ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dataDir));
    }

    [Fact]
    public async Task Restore_LeaseThatExpiresInTheSourceAndWouldExpireDuringReplay_StaysRevisionExact()
    {
        // etcd-backup-restore #1045/#1046: the replay etcd expired a lease from the full snapshot on its own, which
        // deleted its keys at a revision of its own and shifted every revision after it.
        using var client = Etcd.CreateClient();
        var store = LocalDirectoryStore.Open(Dir.Combine("store"));
        var lease = await client.LeaseGrantAsync(2, 0, default);
        await client.PutAsync(new Protocol.PutRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("/l/short"), Value = Google.Protobuf.ByteString.CopyFromUtf8("x"), Lease = lease.ID }, default);
        var full = await new FullSnapshotter(client, store).TakeAsync(Compression.None, null, default);
        var end = full.Name.LastRevision;
        await client.PutAsync("/l/other", "1", default);
        await Eventually.SucceedsAsync(async ct =>
            (await client.GetAsync("/l/short", ct)).Kvs.Count == 0 ? 0 : throw new InvalidOperationException("lease not expired yet"),
            TimeSpan.FromSeconds(30), "the lease to expire in the source");
        var source = (await client.PutAsync("/l/after", "2", default)).Header.Revision;
        await new DeltaCapture(client, store, new DeltaOptions()).CaptureToNowAsync(end, default);

        // Hold the replay after its first revision for longer than the lease's TTL.
        var paused = 0;
        var slow = new SyncProgress(_ =>
        {
            if (Interlocked.Exchange(ref paused, 1) == 0)
            {
                Thread.Sleep(TimeSpan.FromSeconds(4));
            }
        });
        var dataDir = Dir.Combine("restored");
        var result = await new EtcdRestorer(store).RestoreAsync(await PlanAsync(store, RestoreTarget.Latest),
            new RestoreOptions { DataDir = dataDir, Member = LoopbackMember() }, slow, default);

        Assert.Equal(source, result.Revision);
        await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
        using var restoredClient = restored.CreateClient();
        Assert.Equal(source, (await restoredClient.StatusAsync(null, default)).Header.Revision);
        KeyspaceComparison.AssertEqual(await KeyspaceComparison.ReadAsync(client, source), await KeyspaceComparison.ReadAsync(restoredClient, 0), source);
    }

    [Fact]
    public async Task Compact_FoldsTheChainIntoANewFullSnapshot_ThatRestoresExactlyWithoutDeltas()
    {
        var (store, deltas) = await ChainAsync();
        var end = deltas[^1].Name.LastRevision;

        var compacted = await new EtcdRestorer(store).CompactAsync(await PlanAsync(store, RestoreTarget.Latest), Compression.Gzip, null, null, default);
        var again = await new EtcdRestorer(store).CompactAsync(await PlanAsync(store, RestoreTarget.Latest), Compression.Gzip, null, null, default);

        Assert.NotNull(compacted);
        Assert.Equal(end, compacted.Name.LastRevision);
        Assert.Null(again); // the newest full snapshot is at the chain's end now
        var plan = await PlanAsync(store, RestoreTarget.Latest);
        Assert.Equal(compacted.Key, plan.Full.Key);
        Assert.Empty(plan.Deltas);
        var dataDir = Dir.Combine("restored");
        var result = await new EtcdRestorer(store).RestoreAsync(plan, new RestoreOptions { DataDir = dataDir, Member = LoopbackMember() }, null, default);
        Assert.Equal(end, result.Revision);
        await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
        using var restoredClient = restored.CreateClient();
        using var client = Etcd.CreateClient();
        KeyspaceComparison.AssertEqual(await KeyspaceComparison.ReadAsync(client, end), await KeyspaceComparison.ReadAsync(restoredClient, 0), end);
    }

    [Fact]
    public async Task Compact_UncompressedResult_IsAcceptedByEtcdctlSnapshotRestore_AndEtcdServesTheChainsEnd()
    {
        var (store, deltas) = await ChainAsync();
        var end = deltas[^1].Name.LastRevision;

        var compacted = await new EtcdRestorer(store).CompactAsync(await PlanAsync(store, RestoreTarget.Latest), Compression.None, null, null, default);

        Assert.NotNull(compacted);
        var file = Dir.Combine("store", compacted.Key);
        var dataDir = Dir.Combine("by-etcdctl");
        await Etcdctl.RestoreAsync(file, dataDir); // etcdctl checks the file's trailing SHA-256 here
        await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
        using var restoredClient = restored.CreateClient();
        using var client = Etcd.CreateClient();
        Assert.Equal(end, (await restoredClient.StatusAsync(null, default)).Header.Revision);
        KeyspaceComparison.AssertEqual(await KeyspaceComparison.ReadAsync(client, end), await KeyspaceComparison.ReadAsync(restoredClient, 0), end);
        var sourceHash = await client.HashKVAsync(end, null, default);
        Assert.Equal(sourceHash.Hash, (await restoredClient.HashKVAsync(end, null, default)).Hash);
    }

    private sealed class SyncProgress(Action<ReplayProgress> report) : IProgress<ReplayProgress>
    {
        public void Report(ReplayProgress value) => report(value);
    }
}
