using Google.Protobuf;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Etcd.Protocol;
using Lifeboat.Etcd.Restore;
using Lifeboat.Etcd.Snapshots;
using Lifeboat.Storage.Local;
using Lifeboat.Testing;

namespace Lifeboat.Etcd.Tests.Restore;

/// <summary>
/// Full + delta snapshots taken while a random workload runs, restored to the latest point and to intermediate
/// revisions, compared key by key with the source read at the same revision, and by etcd's HashKV at that revision.
/// </summary>
public sealed class RestoreExactnessTests : EtcdTest
{
    [Theory]
    [InlineData(1, Compression.None)]
    [InlineData(2, Compression.Gzip)]
    [InlineData(3, Compression.Zstd)]
    public async Task Restore_AfterRandomWorkload_IsRevisionExactAtLatestAndIntermediatePoints(int seed, Compression compression)
    {
        using var client = Etcd.CreateClient();
        var store = LocalDirectoryStore.Open(Dir.Combine("store"));
        var capture = new DeltaCapture(client, store, new DeltaOptions { Compression = compression, MaxBytes = 2 << 20 });
        var workload = new RandomWorkload(client, seed);
        using var stop = new CancellationTokenSource();

        var running = Task.Run(() => workload.RunAsync(stop.Token));
        await Eventually.SucceedsAsync(_ => workload.Operations > 100 ? Task.FromResult(0) : throw new InvalidOperationException("warming up"),
            TimeSpan.FromSeconds(30), "workload start");
        var full = await new FullSnapshotter(client, store).TakeAsync(compression, null, default);
        var chainEnd = full.Name.LastRevision;
        for (var round = 0; round < 12; round++)
        {
            if (round == 6)
            {
                await new FullSnapshotter(client, store).TakeAsync(compression, null, default); // a second full, mid-chain
            }

            chainEnd = (await capture.CaptureToNowAsync(chainEnd, default)).ReachedRevision;
            await Task.Delay(150);
        }

        await stop.CancelAsync();
        await running;
        var stoppedAt = (await client.StatusAsync(null, default)).Header.Revision;
        chainEnd = (await capture.CaptureToNowAsync(chainEnd, default)).ReachedRevision;
        Assert.True(chainEnd >= stoppedAt, $"the chain ends at {chainEnd}, before the source's {stoppedAt}");

        // 2 s leases may still expire in the source after the capture, moving it past the chain's end: the latest
        // restorable point is the chain's end, and the source is read at that revision.
        var sourceRevision = chainEnd;

        var snapshots = await SnapshotCatalog.ListAsync(store, default);
        var random = new Random(seed);
        var targets = new List<long> { sourceRevision, full.Name.LastRevision, full.Name.LastRevision + 1 };
        targets.AddRange(Enumerable.Range(0, 3).Select(_ => random.NextInt64(full.Name.LastRevision + 1, sourceRevision)));
        foreach (var target in targets.Distinct())
        {
            var plan = RestorePlanner.Plan(snapshots, target == sourceRevision ? RestoreTarget.Latest : RestoreTarget.AtRevision(target));
            var dataDir = Dir.Combine($"restored-{target}");
            var result = await new EtcdRestorer(store).RestoreAsync(plan,
                new RestoreOptions { DataDir = dataDir, Member = LoopbackMember() }, null, default);
            Assert.Equal(target, result.Revision);
            Assert.Equal(target - plan.FullRevision, result.RevisionsReplayed);

            await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
            using var restoredClient = restored.CreateClient();
            Assert.Equal(target, (await restoredClient.StatusAsync(null, default)).Header.Revision);
            KeyspaceComparison.AssertEqual(await KeyspaceComparison.ReadAsync(client, target), await KeyspaceComparison.ReadAsync(restoredClient, 0), target);
            // etcd's own hash of the key bucket up to the target (what `etcdctl endpoint hashkv --rev` prints): the
            // written revisions are byte for byte what etcd stored, tombstones and all.
            var sourceHash = await client.HashKVAsync(target, null, default);
            var restoredHash = await restoredClient.HashKVAsync(target, null, default);
            Assert.Equal((sourceHash.Hash, sourceHash.CompactRevision), (restoredHash.Hash, restoredHash.CompactRevision));
        }
    }

    /// <summary>
    /// A source compacted before its full snapshot, tens of thousands of keys under one prefix, and a chain that
    /// creates keys and deletes them again (one by one and by range): restored to the end and midway, equal key by key
    /// and by HashKV with its compaction mark. An etcd of its own, since compaction drops history other tests read.
    /// </summary>
    [Fact]
    public async Task CompactedSource_ManyKeysUnderOnePrefix_AndKeysCreatedThenDeletedInTheChain()
    {
        await using var etcd = await EtcdServer.StartAsync();
        using var client = etcd.CreateClient();
        var store = LocalDirectoryStore.Open(Dir.Combine("store"));
        const int Many = 30_000;
        for (var batch = 0; batch < Many / 100; batch++)
        {
            var txn = new TxnRequest();
            for (var i = batch * 100; i < (batch + 1) * 100; i++)
            {
                txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8($"/registry/configmaps/ns/cm-{i:D6}"), Value = ByteString.CopyFromUtf8($"data-{i}") } });
            }

            await client.TxnAsync(txn, default);
        }

        for (var i = 0; i < 500; i++)
        {
            await client.PutAsync($"/registry/configmaps/ns/cm-{i:D6}", $"changed-{i}", default); // history the compaction drops
        }

        var compactAt = (await client.StatusAsync(null, default)).Header.Revision;
        await client.CompactAsync(compactAt, physical: true, default);
        var full = await new FullSnapshotter(client, store).TakeAsync(Compression.Zstd, null, default);
        var capture = new DeltaCapture(client, store, new DeltaOptions { Compression = Compression.Zstd, MaxBytes = 256 << 10 });

        for (var i = 0; i < 300; i++)
        {
            await client.PutAsync($"/registry/pods/new-{i:D3}", new string('p', 5_000 + i), default);
        }

        var midway = (await client.StatusAsync(null, default)).Header.Revision;
        for (var i = 0; i < 300; i += 3)
        {
            await client.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8($"/registry/pods/new-{i:D3}") }, default);
        }

        var prefix = ByteString.CopyFromUtf8("/registry/pods/new-1");
        await client.DeleteRangeAsync(new DeleteRangeRequest { Key = prefix, RangeEnd = EtcdClient.PrefixEnd(prefix) }, default);
        await client.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8("/registry/configmaps/ns/cm-000007") }, default);
        var last = (await client.PutAsync("/registry/pods/new-000", "again", default)).Header.Revision;
        Assert.Equal(last, (await capture.CaptureToNowAsync(full.Name.LastRevision, default)).ReachedRevision);

        var snapshots = await SnapshotCatalog.ListAsync(store, default);
        foreach (var target in new[] { last, midway, full.Name.LastRevision })
        {
            var plan = RestorePlanner.Plan(snapshots, target == last ? RestoreTarget.Latest : RestoreTarget.AtRevision(target));
            var dataDir = Dir.Combine($"restored-{target}");
            var result = await new EtcdRestorer(store).RestoreAsync(plan, new RestoreOptions { DataDir = dataDir, Member = LoopbackMember() }, null, default);
            Assert.Equal(target, result.Revision);

            await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
            using var restoredClient = restored.CreateClient();
            var keys = await KeyspaceComparison.ReadAsync(restoredClient, 0);
            Assert.True(keys.Count >= Many, $"{keys.Count} keys restored");
            KeyspaceComparison.AssertEqual(await KeyspaceComparison.ReadAsync(client, target), keys, target);
            if (target == compactAt)
            {
                continue; // etcd computes no hash at the compacted revision itself (ErrCompacted), in source and restore alike
            }

            var sourceHash = await client.HashKVAsync(target, null, default);
            var restoredHash = await restoredClient.HashKVAsync(target, null, default);
            Assert.Equal(compactAt, restoredHash.CompactRevision);
            Assert.Equal((sourceHash.Hash, sourceHash.CompactRevision), (restoredHash.Hash, restoredHash.CompactRevision));
        }
    }
}
