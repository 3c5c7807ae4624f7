using Google.Protobuf;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Etcd;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Etcd.Protocol;
using Lifeboat.Etcd.Restore;
using Lifeboat.Storage.Local;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>
/// A three-member cluster with a sidecar beside each member, under continuous writes, while members are killed
/// (SIGKILL) and restarted again and again, the leader and followers in turn: no sidecar ever exits, and the chain
/// holds every revision etcd made, exactly, once.
/// </summary>
public sealed class SidecarSoakTests : IAsyncLifetime
{
    /// <summary>12 in the suite; LIFEBOAT_SOAK_RESTARTS asks for a longer run by hand.</summary>
    private static readonly int Restarts = int.TryParse(Environment.GetEnvironmentVariable("LIFEBOAT_SOAK_RESTARTS"), out var n) && n > 0 ? n : 12;
    private readonly TempDirectory _dir = new();
    private EtcdCluster? _cluster;

    public async Task InitializeAsync() => _cluster = await EtcdCluster.StartAsync(3);

    public async Task DisposeAsync()
    {
        await _cluster!.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task MembersKilledAndRestartedUnderWrites_NoSidecarExits_AndEveryRevisionIsInTheChainExactlyOnce()
    {
        var store = _dir.Combine("store");
        var members = _cluster!.Members;
        await using var cluster = new ClusterSidecars(_cluster, store, "--delta-period", "1s");
        var (sidecars, http) = (cluster.Runs, cluster.Http);
        using var stopWrites = new CancellationTokenSource();
        var written = 0L;
        var writer = Task.Run(async () =>
        {
            using var client = new EtcdClient(new EtcdClientOptions { Endpoints = members.Select(m => m.ClientUrl).ToList(), CommandTimeout = TimeSpan.FromSeconds(5) });
            for (var i = 0; !stopWrites.IsCancellationRequested; i++)
            {
                try
                {
                    await client.PutAsync($"/soak/{i % 200}", $"v{i}", stopWrites.Token);
                    Interlocked.Increment(ref written);
                }
                catch (Exception) when (!stopWrites.IsCancellationRequested)
                {
                    await Task.Delay(50, CancellationToken.None); // a member is down or there is no leader yet: write on
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
        try
        {
            var leader = await _cluster.LeaderAsync();
            await SidecarProbe.WaitDeltaAsync(http[members.ToList().IndexOf(leader)], 2, TimeSpan.FromSeconds(60), "the first delta");
            for (var round = 0; round < Restarts; round++)
            {
                leader = await _cluster.LeaderAsync();
                var victim = round % 2 == 0 ? leader : members.First(m => m != leader);
                var before = Interlocked.Read(ref written);
                await victim.CrashRestartAsync();
                await Eventually.SucceedsAsync(_ => Task.FromResult(Interlocked.Read(ref written) > before + 20 ? true
                    : throw new InvalidOperationException("writes have not resumed")), TimeSpan.FromSeconds(60), $"writes to resume after restart {round + 1}");
                var exited = sidecars.FirstOrDefault(s => s.IsCompleted);
                Assert.True(exited is null, $"a sidecar exited after restart {round + 1}: {(exited is null ? "" : (await exited).Stderr)}");
            }

            await stopWrites.CancelAsync();
            await writer;
            using var any = new EtcdClient(new EtcdClientOptions { Endpoints = members.Select(m => m.ClientUrl).ToList() });
            var last = (await any.StatusAsync(null, default)).Header.Revision;
            leader = await _cluster.LeaderAsync();
            await SidecarProbe.WaitDeltaAsync(http[members.ToList().IndexOf(leader)], last, TimeSpan.FromSeconds(90), "the last revision to be stored");
            Assert.All(sidecars, s => Assert.False(s.IsCompleted));
            Assert.All(await cluster.StopAsync(), code => Assert.Equal(0, code));

            // Every revision after the full snapshot is in the chain once, as etcd itself reports it.
            var source = LocalDirectoryStore.Open(store, create: false);
            var plan = RestorePlanner.Plan(await SnapshotCatalog.ListAsync(source, default), RestoreTarget.AtRevision(last)); // refuses gaps and overlaps
            var stored = new List<(long Revision, string Changes)>();
            foreach (var delta in plan.Deltas)
            {
                await using var input = await source.OpenReadAsync(delta.Key, default);
                await foreach (var record in DeltaFile.ReadAsync(input, delta.Key, null, default))
                {
                    if (record.Revision > plan.FullRevision && record.Revision <= last)
                    {
                        stored.Add((record.Revision, string.Join(";", record.Changes.Select(c => $"{c.Kind}:{c.Key.ToStringUtf8()}={c.Value.ToStringUtf8()}@{c.CreateRevision}/{c.Version}"))));
                    }
                }
            }

            var history = await HistoryAsync(any, plan.FullRevision + 1, last);
            Assert.Equal(last - plan.FullRevision, history.Count);
            Assert.Equal(history, stored); // revisions lost: none; duplicated or altered: none

            var dataDir = _dir.Combine("restored");
            await new EtcdRestorer(source).RestoreAsync(plan, new RestoreOptions { DataDir = dataDir, Member = EtcdTest.LoopbackMember() }, null, default);
            await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
            using var restoredClient = restored.CreateClient();
            var key = ByteString.CopyFromUtf8("/soak/");
            var expected = await any.RangeAsync(new RangeRequest { Key = key, RangeEnd = EtcdClient.PrefixEnd(key), Revision = last }, default);
            var actual = await restoredClient.RangeAsync(new RangeRequest { Key = key, RangeEnd = EtcdClient.PrefixEnd(key) }, default);
            Assert.Equal(last, actual.Header.Revision);
            Assert.Equal(expected.Kvs.Select(k => (k.Key.ToStringUtf8(), k.Value.ToStringUtf8(), k.ModRevision, k.CreateRevision, k.Version)),
                actual.Kvs.Select(k => (k.Key.ToStringUtf8(), k.Value.ToStringUtf8(), k.ModRevision, k.CreateRevision, k.Version)));
            Console.WriteLine($"soak: {Restarts} SIGKILL restarts survived by 3 sidecars; {history.Count} revisions ({written} writes) in the chain, 0 lost");
        }
        finally
        {
            await stopWrites.CancelAsync();
        }
    }

    /// <summary>etcd's own account of revisions <paramref name="from"/>..<paramref name="to"/>, read with a watch, in the form the deltas are compared in.</summary>
    private static async Task<List<(long Revision, string Changes)>> HistoryAsync(EtcdClient client, long from, long to)
    {
        var all = ByteString.CopyFrom(0);
        var events = new List<Event>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using (var watch = await client.WatchAsync(new WatchCreateRequest { Key = all, RangeEnd = all, StartRevision = from }, timeout.Token))
        {
            await foreach (var response in watch.ReadAllAsync(timeout.Token))
            {
                events.AddRange(response.Events.Where(e => e.Kv.ModRevision <= to));
                if (response.Events.Count > 0 && response.Events[^1].Kv.ModRevision >= to)
                {
                    break;
                }
            }
        }

        return events.GroupBy(e => e.Kv.ModRevision).Select(g => (g.Key, string.Join(";", g.Select(e =>
            $"{(e.Type == Event.Types.EventType.Put ? "Put" : "Delete")}:{e.Kv.Key.ToStringUtf8()}={(e.Type == Event.Types.EventType.Put ? e.Kv.Value.ToStringUtf8() : "")}@{(e.Type == Event.Types.EventType.Put ? e.Kv.CreateRevision : 0)}/{(e.Type == Event.Types.EventType.Put ? e.Kv.Version : 0)}")))).ToList();
    }
}
