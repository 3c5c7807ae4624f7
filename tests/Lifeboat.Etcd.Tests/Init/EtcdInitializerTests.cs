using System.Buffers.Binary;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd.Bolt;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Etcd.Init;
using Lifeboat.Etcd.Restore;
using Lifeboat.Etcd.Snapshots;
using Lifeboat.Storage.Local;
using Lifeboat.Testing;

namespace Lifeboat.Etcd.Tests.Init;

/// <summary>
/// init against a real etcd member's data directory: every kind of damage is restored (and kept aside), a healthy or
/// newer directory is left alone, and refusals change nothing.
/// </summary>
public sealed class EtcdInitializerTests : IAsyncLifetime
{
    private const string Token = "init-test";
    private readonly TempDirectory _dir = new();
    private readonly int _peerPort = LoopbackPorts.Next();
    private EtcdServer? _etcd;

    private EtcdServer Etcd => _etcd!;

    private string DataDir => Etcd.DataDir;

    private MemberFlags Member => new()
    {
        Name = "m1",
        InitialCluster = $"m1=http://127.0.0.1:{_peerPort}",
        InitialAdvertisePeerUrls = $"http://127.0.0.1:{_peerPort}",
        InitialClusterToken = Token,
    };

    public async Task InitializeAsync() =>
        _etcd = await EtcdServer.StartMemberAsync("m1", LoopbackPorts.Next(), _peerPort, Member.InitialCluster, Token);

    public async Task DisposeAsync()
    {
        await Etcd.DisposeAsync();
        _dir.Dispose();
    }

    private LocalDirectoryStore Store(string name = "store") => LocalDirectoryStore.Open(_dir.Combine(name));

    /// <summary>Writes keys, takes a full snapshot and a delta; returns the store's newest revision.</summary>
    private async Task<long> BackUpAsync(ISnapshotStore store, int keys = 50)
    {
        using var client = Etcd.CreateClient();
        for (var i = 0; i < keys; i++)
        {
            await client.PutAsync($"/registry/pods/a{i}", $"v{i}", default);
        }

        var full = await new FullSnapshotter(client, store).TakeAsync(Core.Snapshots.Compression.None, null, default);
        for (var i = 0; i < keys; i++)
        {
            await client.PutAsync($"/registry/pods/b{i}", $"w{i}", default);
        }

        return (await new DeltaCapture(client, store, new DeltaOptions()).CaptureToNowAsync(full.Name.LastRevision, default)).ReachedRevision;
    }

    private Task<InitResult> InitAsync(ISnapshotStore store, InitMode mode = InitMode.Sanity, MemberFlags? member = null, bool discard = false) =>
        new EtcdInitializer(store).RunAsync(new InitOptions { DataDir = DataDir, Member = member ?? Member, Mode = mode, DiscardDamaged = discard }, null, default);

    /// <summary>Starts etcd on the data directory as the member it was, and returns its revision and the value of a key.</summary>
    private async Task<(long Revision, string? Value)> ServeAsync(string key)
    {
        await using var etcd = await EtcdServer.StartMemberAsync("m1", LoopbackPorts.Next(), _peerPort, Member.InitialCluster, Token, DataDir);
        using var client = etcd.CreateClient();
        var response = await client.GetAsync(key, default);
        return (response.Header.Revision, response.Kvs.Count == 1 ? response.Kvs[0].Value.ToStringUtf8() : null);
    }

    private static Dictionary<string, string> Fingerprint(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(
            f => Path.GetRelativePath(dir, f),
            f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));

    private string[] Aside(string word) => Directory.GetDirectories(Path.GetDirectoryName(DataDir)!, Path.GetFileName(DataDir) + $".{word}-*");

    [Fact]
    public async Task MemberIdentity_MatchesWhatEtcdReports_AndWhatItsWalRecords()
    {
        using var client = Etcd.CreateClient();
        var status = await client.StatusAsync(null, default);
        var (member, cluster) = MemberIdentity.FromFlags(Member);

        Assert.Equal(status.Header.MemberId, member);
        Assert.Equal(status.Header.ClusterId, cluster);
        Assert.Equal((member, cluster), WalMetadataReader.Read(Path.Combine(DataDir, "member", "wal")));
    }

    [Fact]
    public async Task Healthy_UnderData_IsKeptUntouched_InBothModes()
    {
        var store = Store();
        await BackUpAsync(store, keys: 500);
        await Etcd.StopAsync();
        var before = Fingerprint(DataDir);

        var sanity = await InitAsync(store);
        var full = await InitAsync(store, InitMode.Full);

        Assert.Equal(InitAction.Keep, sanity.Decision.Action);
        Assert.Equal(DataDirCondition.Healthy, sanity.Report.Condition);
        Assert.Equal(InitAction.Keep, full.Decision.Action);
        Assert.True(full.Report.Proved);
        Assert.Equal(before, Fingerprint(DataDir));
        Assert.Empty(Aside("damaged"));
    }

    [Fact]
    public async Task Missing_IsRestoredToTheStoresNewestPoint()
    {
        var store = Store();
        var newest = await BackUpAsync(store);
        await Etcd.StopAsync();
        Directory.Delete(DataDir, recursive: true);

        var result = await InitAsync(store);

        Assert.Equal(InitAction.Restore, result.Decision.Action);
        Assert.Equal(DataDirCondition.Missing, result.Report.Condition);
        Assert.Equal((newest, "w49"), await ServeAsync("/registry/pods/b49"));
    }

    [Theory]
    [InlineData("truncated-db")]
    [InlineData("corrupted-db")]
    [InlineData("missing-wal")]
    [InlineData("missing-db")]
    [InlineData("zeroed-leaf")]
    [InlineData("garbage-leaf")]
    [InlineData("element-header")]
    [InlineData("value-framing")]
    [InlineData("value-revision")]
    public async Task Damaged_IsRestored_AndTheDamagedDirectoryIsKept(string damage)
    {
        var store = Store();
        var newest = await BackUpAsync(store, keys: 300); // enough for several leaf pages in the key bucket
        await Etcd.StopAsync();
        var db = Path.Combine(DataDir, "member", "snap", "db");
        switch (damage)
        {
            case "truncated-db":
                using (var f = new FileStream(db, FileMode.Open))
                {
                    f.SetLength(f.Length / 2);
                }

                break;
            case "corrupted-db":
                using (var f = new FileStream(db, FileMode.Open))
                {
                    var garbage = new byte[8192]; // both meta pages
                    Random.Shared.NextBytes(garbage);
                    f.Write(garbage);
                }

                break;
            case "missing-wal":
                Directory.Delete(Path.Combine(DataDir, "member", "wal"), recursive: true);
                break;
            case "missing-db":
                File.Delete(db);
                break;
            default:
                DamageKeyLeaf(db, damage);
                break;
        }

        var damaged = Fingerprint(DataDir);

        var result = await InitAsync(store);

        Assert.Equal(InitAction.Restore, result.Decision.Action);
        Assert.True(result.Report.IsDamaged, result.Report.Reason);
        var kept = Assert.Single(Aside("damaged"));
        Assert.Equal(kept, result.KeptAs);
        Assert.Equal(damaged, Fingerprint(kept));
        Assert.Equal((newest, "w0"), await ServeAsync("/registry/pods/b0"));
    }

    /// <summary>
    /// Damages a middle leaf page of etcd's key bucket, where only a walk of the whole tree finds it (the meta pages,
    /// the buckets and the newest revision are all intact): the cases etcd-init used to keep.
    /// </summary>
    private static void DamageKeyLeaf(string db, string damage)
    {
        var leaves = BoltChecker.KeyBucketLeaves(db);
        Assert.True(leaves.Count >= 3, $"the key bucket has {leaves.Count} leaf pages; the test needs a middle one");
        const int pageSize = 4096;
        var bytes = File.ReadAllBytes(db);
        var page = bytes.AsSpan((int)(leaves[leaves.Count / 2] * pageSize), pageSize);
        var element = page.Slice(16 + 16, 16); // the second element: flags, pos, ksize, vsize
        var valueAt = 16 + 16 + (int)BinaryPrimitives.ReadUInt32LittleEndian(element[4..]) + (int)BinaryPrimitives.ReadUInt32LittleEndian(element[8..]);
        switch (damage)
        {
            case "zeroed-leaf":
                page.Clear();
                break;
            case "garbage-leaf":
                Random.Shared.NextBytes(page[8..]); // keeps its id: only the contents are garbage
                break;
            case "element-header":
                BinaryPrimitives.WriteUInt32LittleEndian(element[4..], 0x00F0_0000); // its position points far outside the page
                break;
            case "value-framing":
                page[valueAt] = 0xFF; // a field tag of wire type 7: no protobuf
                break;
            case "value-revision":
                // mod_revision is field 3 (tag 0x18); change its varint's low bits: the value no longer matches its key.
                var tag = page[valueAt..].IndexOf((byte)0x18);
                Assert.True(tag >= 0);
                page[valueAt + tag + 1] ^= 0x01;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(damage), damage, null);
        }

        File.WriteAllBytes(db, bytes);
    }

    [Fact]
    public async Task ARealDatabase_WithLargeValuesTombstonesAndCompaction_PassesEveryCheck()
    {
        using var client = Etcd.CreateClient();
        for (var i = 0; i < 300; i++)
        {
            await client.PutAsync($"/big/{i % 40}", new string((char)('a' + (i % 26)), i % 7 == 0 ? 20_000 : 300), default); // overflow pages
        }

        for (var i = 0; i < 40; i += 3)
        {
            await client.DeleteRangeAsync(new Lifeboat.Etcd.Protocol.DeleteRangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8($"/big/{i}") }, default); // tombstones
        }

        var revision = (await client.PutAsync("/big/last", "x", default)).Header.Revision;
        await client.CompactAsync(revision - 100, physical: true, default); // freed pages on the freelist
        await client.PutAsync("/big/after", "y", default);
        await Etcd.StopAsync();

        var db = Path.Combine(DataDir, "member", "snap", "db");
        Assert.Null(BoltChecker.Check(db));
        var leaves = BoltChecker.KeyBucketLeaves(db);
        Assert.True(leaves.Count > 1);

        // Garbage in any one leaf page of the key bucket, whatever the bytes, is found.
        var pristine = File.ReadAllBytes(db);
        var copy = Path.Combine(_dir.Path, "garbage.db");
        for (var seed = 0; seed < 200; seed++)
        {
            var bytes = (byte[])pristine.Clone();
            new Random(seed).NextBytes(bytes.AsSpan((int)(leaves[seed % leaves.Count] * 4096) + 8, 4096 - 8));
            File.WriteAllBytes(copy, bytes);
            Assert.True(BoltChecker.Check(copy) is not null, $"garbage with seed {seed} passed as healthy");
        }
    }

    [Fact]
    public async Task Damaged_WithDiscardDamaged_KeepsNothingAside()
    {
        var store = Store();
        await BackUpAsync(store);
        await Etcd.StopAsync();
        Directory.Delete(Path.Combine(DataDir, "member", "wal"), recursive: true);

        var result = await InitAsync(store, discard: true);

        Assert.Equal(InitAction.Restore, result.Decision.Action);
        Assert.Null(result.KeptAs);
        Assert.Empty(Aside("damaged"));
    }

    [Fact]
    public async Task Damaged_WithAnEmptyStore_IsRefused_AndLeftAsItWas()
    {
        await BackUpAsync(Store("elsewhere"));
        await Etcd.StopAsync();
        File.Delete(Path.Combine(DataDir, "member", "snap", "db"));
        var before = Fingerprint(DataDir);

        var error = await Assert.ThrowsAsync<InitRefusedException>(() => InitAsync(Store()));

        Assert.Contains("no snapshot to restore from", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, Fingerprint(DataDir));
    }

    [Fact]
    public async Task WrongMemberFlags_AreRefused_NamingTheFlag()
    {
        var store = Store();
        await BackUpAsync(store);
        await Etcd.StopAsync();
        var before = Fingerprint(DataDir);

        var token = await Assert.ThrowsAsync<InitRefusedException>(() => InitAsync(store, member: Member with { InitialClusterToken = "other" }));
        var otherPeer = $"http://127.0.0.1:{LoopbackPorts.Next()}";
        var cluster = await Assert.ThrowsAsync<InitRefusedException>(() => InitAsync(store,
            member: Member with { InitialCluster = $"{Member.InitialCluster},m2={otherPeer}" }));

        Assert.Contains("--initial-cluster-token", token.Message, StringComparison.Ordinal);
        Assert.Contains("--initial-cluster does not match", cluster.Message, StringComparison.Ordinal);
        Assert.Equal(before, Fingerprint(DataDir));
    }

    [Fact]
    public async Task Behind_TheStore_IsRestored()
    {
        var store = Store();
        await BackUpAsync(store, keys: 10);
        await Etcd.StopAsync();
        var old = _dir.Combine("old-data");
        DataDirInspector.CopyDirectory(DataDir, old);
        await Etcd.RestartAsync();
        var newest = await BackUpAsync(store, keys: 20); // the store moves on; then the member loses what came after the copy
        await Etcd.StopAsync();
        Directory.Delete(DataDir, recursive: true);
        DataDirInspector.CopyDirectory(old, DataDir);

        var result = await InitAsync(store);

        Assert.Equal(InitAction.Restore, result.Decision.Action);
        Assert.True(result.Report.Proved, "a db behind the store is proved by etcd (its WAL may hold the rest) before it is replaced");
        Assert.Single(Aside("replaced"));
        Assert.Equal(newest, (await ServeAsync("/registry/pods/b19")).Revision);
    }

    [Fact]
    public async Task Newer_ThanTheStore_IsKept_NeverRolledBack()
    {
        var store = Store();
        var stored = await BackUpAsync(store);
        using (var client = Etcd.CreateClient())
        {
            await client.PutAsync("/registry/after-backup", "x", default);
        }

        await Etcd.StopAsync();
        var before = Fingerprint(DataDir);

        var result = await InitAsync(store);

        Assert.Equal(InitAction.Keep, result.Decision.Action);
        Assert.Contains("store is behind", result.Decision.Reason, StringComparison.Ordinal);
        Assert.Equal(stored + 1, result.Report.Revision);
        Assert.Equal(before, Fingerprint(DataDir));
    }
}
