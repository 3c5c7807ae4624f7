using Google.Protobuf;
using Lifeboat.Core.Errors;
using Lifeboat.Etcd.Bolt;
using Lifeboat.Etcd.Protocol;
using Lifeboat.Testing;

namespace Lifeboat.Etcd.Tests.Bolt;

/// <summary>The scanner against databases streamed from a real etcd, with etcdctl as the oracle.</summary>
public sealed class BoltRevisionScannerTests : IAsyncLifetime
{
    private EtcdServer? _etcd;

    public async Task InitializeAsync() => _etcd = await EtcdServer.StartAsync();

    public async Task DisposeAsync() => await _etcd!.DisposeAsync();

    private async Task<byte[]> SnapshotAsync()
    {
        using var client = _etcd!.CreateClient();
        var bytes = new List<byte>();
        ulong remaining = 1;
        await foreach (var m in client.SnapshotAsync(null, default))
        {
            if (remaining == 0)
            {
                break; // the hash
            }

            bytes.AddRange(m.Blob.ToByteArray());
            remaining = m.RemainingBytes;
        }

        return [.. bytes];
    }

    private static BoltRevision Scan(byte[] db, int chunk)
    {
        var scanner = new BoltRevisionScanner();
        for (var i = 0; i < db.Length; i += chunk)
        {
            scanner.Append(db.AsSpan(i, Math.Min(chunk, db.Length - i)));
        }

        return scanner.Complete();
    }

    private static async Task<long> EtcdctlRevisionAsync(byte[] db)
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("s.db");
        await File.WriteAllBytesAsync(file, db);
        return (await Etcdctl.SnapshotStatusAsync(file)).Revision;
    }

    [Fact]
    public async Task Complete_FreshEtcd_GivesRevisionOne()
    {
        var db = await SnapshotAsync();
        Assert.Equal(1, Scan(db, 32 * 1024).Revision);
    }

    [Theory]
    [InlineData(30_000, 100, 7)] // a deep tree of small keys, fed in odd-sized pieces
    [InlineData(300, 300_000, 32 * 1024)] // values spanning overflow pages
    public async Task Complete_LoadedEtcd_MatchesEtcdctlAndServer(int keys, int valueSize, int chunk)
    {
        using var client = _etcd!.CreateClient();
        var revision = await EtcdLoad.PutManyAsync(client, "/k/", keys, valueSize, opsPerTxn: valueSize > 10_000 ? 4 : 128);
        var db = await SnapshotAsync();

        var scanned = Scan(db, chunk);

        Assert.Equal(revision, scanned.Revision);
        Assert.Equal(await EtcdctlRevisionAsync(db), scanned.NewestKeyRevision);
    }

    [Fact]
    public async Task Complete_AfterManyRewrites_IgnoresStalePagesAndFindsTheLiveTree()
    {
        using var client = _etcd!.CreateClient();
        for (var round = 0; round < 5; round++)
        {
            await EtcdLoad.PutManyAsync(client, "/r/", 2000, 500); // rewrites free pages that keep stale copies
        }

        var beforeDelete = Scan(await SnapshotAsync(), 4096);
        await client.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8("/r/00000000") }, default);
        var revision = (await client.StatusAsync(null, default)).Header.Revision;
        var after = Scan(await SnapshotAsync(), 4096);

        Assert.Equal(revision - 1, beforeDelete.Revision);
        Assert.Equal(revision, after.Revision);
    }

    [Fact]
    public async Task Complete_TruncatedOrForeignBytes_ThrowsIntegrity()
    {
        var db = await SnapshotAsync();
        Assert.Throws<IntegrityException>(() => Scan(db[..(db.Length - 100)], 4096));
        // Only the two meta pages: the tree they point to is missing. (A cut elsewhere can leave the live tree whole,
        // in which case the scan is right; truncation as such is caught by etcd's trailing SHA-256, not here.)
        Assert.Throws<IntegrityException>(() => Scan(db[..8192], 4096));
        Assert.Throws<IntegrityException>(() => Scan(new byte[8192], 4096));
        var corruptMetas = (byte[])db.Clone();
        corruptMetas[4096 + 70] ^= 0xFF;
        corruptMetas[70] ^= 0xFF;
        Assert.Throws<IntegrityException>(() => Scan(corruptMetas, 4096));
    }
}
