using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Lifeboat.Etcd.Bolt;
using Lifeboat.Etcd.Protocol;
using Lifeboat.Testing;

namespace Lifeboat.Etcd.Tests.Bolt;

/// <summary>
/// The bbolt writer's files are databases bbolt and etcd read: every entry comes back in order, the whole-file check
/// passes, etcdctl computes the same content hash as for the source database, and etcd starts on one and serves it.
/// </summary>
public sealed class BoltWriterTests : EtcdTest
{
    [Fact]
    public void RandomBuckets_ReadBackInOrder_IncludingValuesLargerThanAPage_AndAnEmptyBucket()
    {
        var random = new Random(17);
        var buckets = new SortedDictionary<string, SortedDictionary<byte[], byte[]>>(StringComparer.Ordinal);
        foreach (var name in new[] { "alpha", "beta", "empty", "gamma" })
        {
            var entries = new SortedDictionary<byte[], byte[]>(ByteComparer.Instance);
            var count = name == "empty" ? 0 : name == "beta" ? 20_000 : 300;
            while (entries.Count < count)
            {
                var key = new byte[random.Next(1, 40)];
                random.NextBytes(key);
                var value = new byte[random.Next(10) == 0 ? random.Next(5_000, 40_000) : random.Next(0, 200)];
                random.NextBytes(value);
                entries[key] = value;
            }

            buckets[name] = entries;
        }

        var path = Dir.Combine("random.db");
        using (var file = new FileStream(path, FileMode.CreateNew))
        using (var writer = new BoltWriter(file))
        {
            foreach (var (name, entries) in buckets)
            {
                writer.BeginBucket(System.Text.Encoding.UTF8.GetBytes(name));
                foreach (var (key, value) in entries)
                {
                    writer.Add(key, value);
                }

                writer.EndBucket();
            }

            writer.Complete();
        }

        Assert.Null(BoltChecker.Check(path));
        using var reader = new BoltReader(path);
        Assert.Equal(buckets.Keys, reader.Buckets);
        foreach (var (name, entries) in buckets)
        {
            var read = reader.Entries(name).Select(e => (Convert.ToHexString(e.Key.Span), Convert.ToHexString(e.Value.Span))).ToList();
            Assert.Equal(entries.Select(e => (Convert.ToHexString(e.Key), Convert.ToHexString(e.Value))), read);
        }
    }

    [Fact]
    public void KeysOutOfOrder_OrBucketsOutOfOrder_AreRefused()
    {
        using var file = new MemoryStream();
        using var writer = new BoltWriter(file);
        writer.BeginBucket("b"u8);
        writer.Add("k2"u8, "v"u8);
        Assert.Throws<ArgumentException>(() => writer.Add("k1"u8, "v"u8));
        Assert.Throws<ArgumentException>(() => writer.Add("k2"u8, "v"u8));
        writer.EndBucket();
        Assert.Throws<ArgumentException>(() => writer.BeginBucket("a"u8));
    }

    [Fact]
    public async Task ARealEtcdDatabase_CopiedBucketByBucket_HasTheSameContentHash_AndEtcdServesIt()
    {
        using var client = Etcd.CreateClient();
        for (var i = 0; i < 3000; i++)
        {
            await client.PutAsync($"/registry/pods/p{i % 700}", i % 97 == 0 ? new string('x', 9000) : $"value-{i}", default);
        }

        await client.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8("/registry/pods/p1") }, default);
        var lease = await client.LeaseGrantAsync(600, 0, default);
        await client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("/leased"), Value = ByteString.CopyFromUtf8("x"), Lease = lease.ID }, default);
        var revision = (await client.StatusAsync(null, default)).Header.Revision;
        var source = Dir.Combine("source.db");
        Assert.Equal(0, (await Etcdctl.RunAsync(["--endpoints", Etcd.ClientUrl.ToString(), "snapshot", "save", source])).ExitCode);

        var copy = Dir.Combine("copy.db");
        using (var reader = new BoltReader(source))
        using (var file = new FileStream(copy, FileMode.CreateNew))
        using (var writer = new BoltWriter(file, reader.PageSize))
        {
            foreach (var bucket in reader.Buckets)
            {
                writer.BeginBucket(System.Text.Encoding.UTF8.GetBytes(bucket));
                foreach (var (key, value) in reader.Entries(bucket))
                {
                    writer.Add(key.Span, value.Span);
                }

                writer.EndBucket();
            }

            writer.Complete();
        }

        Assert.Null(BoltChecker.Check(copy));
        var (sourceHash, sourceRevision, sourceKeys) = await StatusAsync(source);
        var (copyHash, copyRevision, copyKeys) = await StatusAsync(copy);
        Assert.Equal((sourceHash, sourceRevision, sourceKeys), (copyHash, copyRevision, copyKeys));
        Assert.Equal(revision, copyRevision);

        var dataDir = Dir.Combine("restored");
        var peer = $"http://127.0.0.1:{LoopbackPorts.Next().ToString(CultureInfo.InvariantCulture)}";
        var restore = await Etcdctl.RunAsync(["snapshot", "restore", copy, "--skip-hash-check", "--data-dir", dataDir, "--name", "lifeboat-test",
            "--initial-cluster", $"lifeboat-test={peer}", "--initial-advertise-peer-urls", peer]);
        Assert.True(restore.ExitCode == 0, restore.Stderr);
        await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
        using var restoredClient = restored.CreateClient();
        var all = ByteString.CopyFrom(0);
        var expected = await client.RangeAsync(new RangeRequest { Key = all, RangeEnd = all }, default);
        var actual = await restoredClient.RangeAsync(new RangeRequest { Key = all, RangeEnd = all }, default);
        Assert.Equal(revision, actual.Header.Revision);
        Assert.Equal(expected.Kvs.Select(k => (k.Key.ToStringUtf8(), k.Value.ToStringUtf8(), k.CreateRevision, k.ModRevision, k.Version, k.Lease)),
            actual.Kvs.Select(k => (k.Key.ToStringUtf8(), k.Value.ToStringUtf8(), k.CreateRevision, k.ModRevision, k.Version, k.Lease)));
        await restoredClient.PutAsync("/after-restore", "writable", default); // etcd writes to the file it was given
    }

    private static async Task<(long Hash, long Revision, long Keys)> StatusAsync(string db)
    {
        var (code, stdout, stderr) = await Etcdctl.RunAsync(["snapshot", "status", db, "-w", "json"]);
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        return (doc.RootElement.GetProperty("hash").GetInt64(), doc.RootElement.GetProperty("revision").GetInt64(), doc.RootElement.GetProperty("totalKey").GetInt64());
    }

    private sealed class ByteComparer : IComparer<byte[]>
    {
        public static readonly ByteComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
