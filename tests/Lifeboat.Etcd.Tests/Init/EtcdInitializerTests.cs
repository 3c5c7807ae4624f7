using Lifeboat.Core.Storage;
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
    public async Task Damaged_IsRestored_AndTheDamagedDirectoryIsKept(string damage)
    {
        var store = Store();
        var newest = await BackUpAsync(store);
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
