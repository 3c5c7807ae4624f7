using System.Text.Json;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Etcd;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Restore;
using Lifeboat.Storage.Local;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>Three members, a sidecar beside each, one store: only the leader's sidecar writes, and failover keeps the chain whole.</summary>
public sealed class SidecarFailoverTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private EtcdCluster? _cluster;

    public async Task InitializeAsync() => _cluster = await EtcdCluster.StartAsync(3);

    public async Task DisposeAsync()
    {
        await _cluster!.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Sidecars_LeaderKilledMidRun_NewLeaderContinuesTheChainWithNoGapAndNoDuplicate()
    {
        var store = _dir.Combine("store");
        var members = _cluster!.Members;
        await using var sidecars = new ClusterSidecars(_cluster, store, "--delta-period", "1s");
        var http = sidecars.Http;
        var leader = await _cluster.LeaderAsync();
        var leaderIndex = members.ToList().IndexOf(leader);
        await Eventually.SucceedsAsync(async ct =>
        {
            var states = await Task.WhenAll(http.Select(h => SidecarProbe.LatestAsync(h, ct)));
            var leaders = states.Count(s => s.GetProperty("leader").GetBoolean());
            return leaders == 1 && states[leaderIndex].GetProperty("leader").GetBoolean() && states[leaderIndex].GetProperty("full").ValueKind != JsonValueKind.Null
                ? 0 : throw new InvalidOperationException($"{leaders} sidecars think they lead");
        }, TimeSpan.FromSeconds(30), "exactly the leader's sidecar to write");

        using var client = new EtcdClient(new EtcdClientOptions { Endpoints = members.Select(m => m.ClientUrl).ToList() });
        var before = 0L;
        for (var i = 0; i < 20; i++)
        {
            before = (await client.PutAsync($"/failover/a{i}", "before", default)).Header.Revision;
        }

        await SidecarProbe.WaitChainAsync(http[leaderIndex], before, TimeSpan.FromSeconds(30), "the leader to capture the first writes");

        await leader.KillAsync(); // its sidecar keeps running, now beside a dead member
        var survivors = members.Where(m => m != leader).ToList();
        var newLeader = await _cluster.LeaderAsync(survivors);
        var newIndex = members.ToList().IndexOf(newLeader);
        using var survivorClient = new EtcdClient(new EtcdClientOptions { Endpoints = survivors.Select(m => m.ClientUrl).ToList() });
        var after = 0L;
        for (var i = 0; i < 20; i++)
        {
            after = (await survivorClient.PutAsync($"/failover/b{i}", "after", default)).Header.Revision;
        }

        await SidecarProbe.WaitChainAsync(http[newIndex], after, TimeSpan.FromSeconds(60), "the new leader to continue the chain");
        await SidecarProbe.WaitDeltaAsync(http[newIndex], after, TimeSpan.FromSeconds(30), "the new leader's delta to be written");
        Assert.False((await SidecarProbe.LatestAsync(http[leaderIndex], default)).GetProperty("leader").GetBoolean());

        Assert.All(await sidecars.StopAsync(), code => Assert.Equal(0, code));

        // No gap and no duplicate: the planner refuses both. Then the chain must restore exactly.
        var plan = RestorePlanner.Plan(await SnapshotCatalog.ListAsync(LocalDirectoryStore.Open(store, create: false), default), RestoreTarget.AtRevision(after));
        var dataDir = _dir.Combine("restored");
        var result = await new EtcdRestorer(LocalDirectoryStore.Open(store, create: false)).RestoreAsync(plan,
            new RestoreOptions { DataDir = dataDir, Member = EtcdTest.LoopbackMember() }, null, default);
        Assert.Equal(after, result.Revision);
        await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
        using var restoredClient = restored.CreateClient();
        var key = Google.Protobuf.ByteString.CopyFromUtf8("/failover/");
        var expected = await survivorClient.RangeAsync(new Lifeboat.Etcd.Protocol.RangeRequest { Key = key, RangeEnd = EtcdClient.PrefixEnd(key), Revision = after }, default);
        var actual = await restoredClient.RangeAsync(new Lifeboat.Etcd.Protocol.RangeRequest { Key = key, RangeEnd = EtcdClient.PrefixEnd(key) }, default);
        Assert.Equal(40, actual.Kvs.Count);
        Assert.Equal(expected.Kvs.Select(k => (k.Key.ToStringUtf8(), k.ModRevision, k.Version)), actual.Kvs.Select(k => (k.Key.ToStringUtf8(), k.ModRevision, k.Version)));
    }
}
