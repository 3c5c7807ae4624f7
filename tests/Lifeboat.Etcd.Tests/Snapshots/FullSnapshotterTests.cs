using System.IO.Compression;
using Google.Protobuf;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Protocol;
using Lifeboat.Etcd.Snapshots;
using Lifeboat.Storage.Local;
using Lifeboat.Testing;

namespace Lifeboat.Etcd.Tests.Snapshots;

/// <summary>Full snapshots of a real etcd, judged by etcd's own tools.</summary>
public sealed class FullSnapshotterTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private EtcdServer? _etcd;

    private EtcdServer Etcd => _etcd!;

    public async Task InitializeAsync() => _etcd = await EtcdServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_etcd is not null)
        {
            await _etcd.DisposeAsync();
        }

        _dir.Dispose();
    }

    [Fact]
    public async Task TakeAsync_Uncompressed_IsAcceptedAndRestoredByEtcdctl()
    {
        using var client = Etcd.CreateClient();
        var revision = await EtcdLoad.PutManyAsync(client, "/data/", 3000, 300);
        var store = LocalDirectoryStore.Open(_dir.Combine("store"));

        var result = await new FullSnapshotter(client, store).TakeAsync(Compression.None, null, default);

        var file = Path.Combine(_dir.Path, "store", result.Key);
        Assert.Equal(revision, result.Name.LastRevision);
        Assert.Equal(SnapshotKind.Full, result.Name.Kind);
        // The database, Lifeboat's identity block, and the SHA-256 of both: still a file etcdctl accepts as hashed.
        Assert.Equal(result.DatabaseBytes + IdentityBlock.Size + 32, new FileInfo(file).Length);
        var status = await client.StatusAsync(null, default);
        var identity = await ChainIdentity.ReadAsync(store, new StoredSnapshot(result.Name, new StoredObject(result.Key, result.StoredBytes, DateTimeOffset.UtcNow)), default);
        Assert.Equal((status.Header.ClusterId, status.Header.MemberId), (identity.ClusterId, identity.MemberId));
        Assert.Equal(result.Sha256, identity.Sha256);
        Assert.Equal(result.Sha256, File.ReadAllBytes(file)[^32..]);
        Assert.Equal(status.Header.ClusterId, result.Name.ClusterId);
        Assert.Contains(ChainIdentity.Hex(status.Header.ClusterId), result.Key, StringComparison.Ordinal);
        var (statusRevision, _) = await Etcdctl.SnapshotStatusAsync(file);
        Assert.Equal(revision, statusRevision);

        var restored = _dir.Combine("restored");
        await Etcdctl.RestoreAsync(file, restored); // etcdctl verifies the trailing SHA-256 here
        await using var copy = await EtcdServer.StartAsync(dataDir: restored);
        using var copyClient = copy.CreateClient();
        Assert.Equal(revision, (await copyClient.StatusAsync(null, default)).Header.Revision);
        var key = ByteString.CopyFromUtf8("/data/");
        Assert.Equal(3000, (await copyClient.RangeAsync(new RangeRequest { Key = key, RangeEnd = EtcdClient.PrefixEnd(key), CountOnly = true }, default)).Count);
    }

    [Fact]
    public async Task TakeAsync_Gzip_DecompressesToTheSameDatabase()
    {
        using var client = Etcd.CreateClient();
        await EtcdLoad.PutManyAsync(client, "/gz/", 2000, 500);
        var store = LocalDirectoryStore.Open(_dir.Combine("store"));

        var result = await new FullSnapshotter(client, store).TakeAsync(Compression.Gzip, null, default);

        Assert.EndsWith(".db.gz", result.Key, StringComparison.Ordinal);
        var plain = _dir.Combine("plain.db");
        await using (var input = await store.OpenReadAsync(result.Key, default))
        await using (var gzip = new GZipStream(input, CompressionMode.Decompress))
        await using (var output = File.Create(plain))
        {
            await gzip.CopyToAsync(output);
        }

        Assert.True(result.StoredBytes < new FileInfo(plain).Length);
        Assert.Equal(result.Name.LastRevision, (await Etcdctl.SnapshotStatusAsync(plain)).Revision);
        await Etcdctl.RestoreAsync(plain, _dir.Combine("restored"));
    }

    [Fact]
    public async Task TakeAsync_UnderConcurrentWrites_NamesTheRevisionTheContentHolds()
    {
        using var client = Etcd.CreateClient();
        await EtcdLoad.PutManyAsync(client, "/base/", 20_000, 1000); // ~20 MB: the stream takes long enough to overlap writes
        using var stop = new CancellationTokenSource();
        var writes = 0L;
        var writer = Task.Run(async () =>
        {
            using var writerClient = Etcd.CreateClient();
            while (!stop.IsCancellationRequested)
            {
                await writerClient.PutAsync($"/hot/{writes % 100}", writes.ToString(System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None);
                Interlocked.Increment(ref writes);
            }
        });
        await Eventually.SucceedsAsync(_ => Task.FromResult(Interlocked.Read(ref writes) > 50 ? true : throw new InvalidOperationException("writer not started")),
            TimeSpan.FromSeconds(10), "writer warm-up");
        // Whether a write lands between the status call and the moment etcd fixes the snapshot's content is timing;
        // take snapshots until one shows it (almost always the first), then prove that one's name exact.
        FullSnapshotResult? result = null;
        var storeDir = "";
        for (var attempt = 0; attempt < 10 && result is null; attempt++)
        {
            storeDir = _dir.Combine($"store-{attempt}"); // an attempt at an unchanged revision must not collide with the last
            var taken = await new FullSnapshotter(client, LocalDirectoryStore.Open(storeDir)).TakeAsync(Compression.None, null, default);
            Assert.True(taken.Name.LastRevision >= taken.RevisionBeforeStream);
            if (taken.Name.LastRevision > taken.RevisionBeforeStream)
            {
                result = taken;
            }
        }

        await stop.CancelAsync();
        await writer;

        Assert.True(result is not null, "in 10 snapshots under concurrent writes, none held content newer than the revision read before it");
        var restored = _dir.Combine("restored");
        await Etcdctl.RestoreAsync(Path.Combine(storeDir, result.Key), restored);
        await using var copy = await EtcdServer.StartAsync(dataDir: restored);
        using var copyClient = copy.CreateClient();
        Assert.Equal(result.Name.LastRevision, (await copyClient.StatusAsync(null, default)).Header.Revision);
        var hot = ByteString.CopyFromUtf8("/hot/");
        var atSource = await client.RangeAsync(new RangeRequest { Key = hot, RangeEnd = EtcdClient.PrefixEnd(hot), Revision = result.Name.LastRevision }, default);
        var inCopy = await copyClient.RangeAsync(new RangeRequest { Key = hot, RangeEnd = EtcdClient.PrefixEnd(hot) }, default);
        Assert.Equal(atSource.Kvs.Select(k => (k.Key.ToStringUtf8(), k.Value.ToStringUtf8(), k.ModRevision, k.Version)),
            inCopy.Kvs.Select(k => (k.Key.ToStringUtf8(), k.Value.ToStringUtf8(), k.ModRevision, k.Version)));
    }

    [Fact]
    public async Task TakeAsync_NewestKeysCompactedAway_UsesTheCompactionRevisionAsEtcdDoes()
    {
        using var client = Etcd.CreateClient();
        await client.PutAsync("/c/a", "1", default);
        await client.PutAsync("/c/b", "1", default);
        var deleted = (await client.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8("/c/b") }, default)).Header.Revision;
        await client.CompactAsync(deleted, physical: true, default);
        var store = LocalDirectoryStore.Open(_dir.Combine("store"));

        var result = await new FullSnapshotter(client, store).TakeAsync(Compression.None, null, default);

        var file = Path.Combine(_dir.Path, "store", result.Key);
        Assert.True((await Etcdctl.SnapshotStatusAsync(file)).Revision < deleted,
            "the tombstone at the compaction revision is gone, so the newest key is older than etcd's revision");
        Assert.Equal(deleted, result.Name.LastRevision);
        var restored = _dir.Combine("restored");
        await Etcdctl.RestoreAsync(file, restored);
        await using var copy = await EtcdServer.StartAsync(dataDir: restored);
        using var copyClient = copy.CreateClient();
        Assert.Equal(deleted, (await copyClient.StatusAsync(null, default)).Header.Revision);
    }

    [Fact]
    public async Task TakeAsync_StoreFillsUpMidway_FailsAndLeavesNothing()
    {
        using var client = Etcd.CreateClient();
        await EtcdLoad.PutManyAsync(client, "/full/", 1000, 1000);
        var local = LocalDirectoryStore.Open(_dir.Combine("store"));
        var failing = new FailingStore(local) { FailAfterBytes = 100_000 };

        var ex = await Assert.ThrowsAsync<StoreException>(() => new FullSnapshotter(client, failing).TakeAsync(Compression.None, null, default));

        Assert.Equal(StoreErrorKind.Full, ex.Kind);
        Assert.Empty(await SnapshotCatalog.ListAsync(local, default));
        Assert.Empty(Directory.EnumerateFiles(_dir.Combine("store"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task TakeAsync_EtcdKilledMidStream_FailsAndLeavesNothing()
    {
        using var client = Etcd.CreateClient();
        await EtcdLoad.PutManyAsync(client, "/big/", 40_000, 1500); // ~60 MB
        var store = LocalDirectoryStore.Open(_dir.Combine("store"));
        var killed = 0;
        var progress = new SyncProgress(p =>
        {
            if (p.Bytes > 1_000_000 && Interlocked.Exchange(ref killed, 1) == 0)
            {
                Etcd.KillAsync().GetAwaiter().GetResult();
            }
        });

        var ex = await Assert.ThrowsAnyAsync<LifeboatException>(() => new FullSnapshotter(client, store).TakeAsync(Compression.None, progress, default));

        Assert.Equal(1, killed);
        Assert.True(ex is EtcdException { IsTransient: true } or IntegrityException, ex.ToString());
        Assert.Empty(await SnapshotCatalog.ListAsync(store, default));
        Assert.Empty(Directory.EnumerateFiles(_dir.Combine("store"), "*", SearchOption.AllDirectories));
    }

    /// <summary>Reports synchronously on the reporting thread (Progress{T} would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<SnapshotProgress> report) : IProgress<SnapshotProgress>
    {
        public void Report(SnapshotProgress value) => report(value);
    }
}
