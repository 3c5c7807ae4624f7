using Lifeboat.Etcd.Bolt;
using Lifeboat.Etcd.Init;
using Lifeboat.Etcd.Restore;
using Lifeboat.Testing;

namespace Lifeboat.Etcd.Tests.Restore;

/// <summary>
/// The member directory Lifeboat writes is the one <c>etcdctl snapshot restore</c> writes for the same database and
/// flags: the same files with the same modes, the WAL and raft snapshot byte for byte, and the same database content.
/// </summary>
public sealed class MemberLayoutTests : EtcdTest
{
    public static TheoryData<string, string, string, string> Memberships => new()
    {
        // etcd's defaults, as a restore without member flags gets them
        { "default", "default=http://localhost:2380", "etcd-cluster", "http://localhost:2380" },
        // a member of three
        { "b", "a=http://10.0.0.1:2380,b=http://10.0.0.2:2380,c=http://10.0.0.3:2380", "tok", "http://10.0.0.2:2380" },
        // two peer URLs, https, IPv6, and a name with characters Go's JSON escapes
        {
            "m<&>\"1", "m<&>\"1=https://[::1]:2380,m<&>\"1=https://etcd-0.etcd:2380,n=https://etcd-1.etcd:2380", "k8s-etcd",
            "https://etcd-0.etcd:2380,https://[::1]:2380"
        },
    };

    [Theory]
    [MemberData(nameof(Memberships))]
    public async Task SameDirectoryAsEtcdctlSnapshotRestore(string name, string initialCluster, string token, string advertise)
    {
        using var client = Etcd.CreateClient();
        for (var i = 0; i < 50; i++)
        {
            await client.PutAsync($"/layout/{i}", $"v{i}", default);
        }

        var saved = Dir.Combine("saved.db");
        Assert.Equal(0, (await Etcdctl.RunAsync(["--endpoints", Etcd.ClientUrl.ToString(), "snapshot", "save", saved])).ExitCode);

        var theirs = Dir.Combine("etcdctl");
        var restore = await Etcdctl.RunAsync(["snapshot", "restore", saved, "--data-dir", theirs, "--name", name, "--initial-cluster", initialCluster,
            "--initial-cluster-token", token, "--initial-advertise-peer-urls", advertise]);
        Assert.True(restore.ExitCode == 0, restore.Stderr);

        var flags = new MemberFlags { Name = name, InitialCluster = initialCluster, InitialClusterToken = token, InitialAdvertisePeerUrls = advertise };
        flags.Validate();
        var ours = Dir.Combine("lifeboat");
        MemberLayout.CreatePrivateDirectory(ours);
        var ids = MemberLayout.Write(ours, flags);
        var db = Dir.Combine("db");
        using (var source = File.OpenRead(saved))
        using (var target = File.Create(db))
        {
            source.CopyTo(target);
            target.SetLength(source.Length - 32); // etcdctl snapshot save ends the database with its SHA-256
        }

        Assert.True(RestoredDatabase.TrySetConsistentIndex(db, MemberLayout.ConsistentIndex(flags)));
        MemberLayout.PlaceDatabase(ours, db);

        Assert.Equal(Files(theirs), Files(ours));
        foreach (var (path, _) in Files(ours).Where(f => File.Exists(Path.Combine(ours, f.Path)) && !f.Path.EndsWith("/db", StringComparison.Ordinal)))
        {
            Assert.True(File.ReadAllBytes(Path.Combine(theirs, path)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(ours, path))), $"{path} differs from etcdctl's");
        }

        Assert.Equal(Content(Path.Combine(theirs, "member", "snap", "db")), Content(Path.Combine(ours, "member", "snap", "db")));
        Assert.Equal(WalMetadataReader.Read(Path.Combine(theirs, "member", "wal")), ids);
        Assert.Equal(MemberIdentity.FromFlags(flags), ids);
    }

    [Theory]
    [InlineData("http://10.0.0.1:2380/", "has a path")]
    [InlineData("http://10.0.0.1", "has no port")]
    [InlineData("ftp://10.0.0.1:2380", "is not an http, https, unix or unixs URL")]
    public async Task PeerUrlsEtcdRefuses_AreRefusedBeforeAnyWork(string url, string why)
    {
        var flags = new MemberFlags { Name = "a", InitialCluster = $"a={url}", InitialAdvertisePeerUrls = url };
        var refused = Assert.Throws<RestoreRefusedException>(flags.Validate);
        Assert.Contains(why, refused.Message, StringComparison.Ordinal);
        var (code, _, stderr) = await Etcdctl.RunAsync(["snapshot", "restore", "/nonexistent.db", "--data-dir", Dir.Combine("x"), "--name", "a",
            "--initial-cluster", $"a={url}", "--initial-advertise-peer-urls", url]);
        Assert.True(code != 0 && !stderr.Contains("no such file", StringComparison.OrdinalIgnoreCase), $"etcdctl accepts {url}: {stderr}");
    }

    /// <summary>Every file under a directory with its Unix mode, by relative path.</summary>
    private static List<(string Path, UnixFileMode Mode)> Files(string root) =>
    [
        .. Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(p => (Path.GetRelativePath(root, p).Replace('\\', '/'), OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(p)))
            .Order(),
    ];

    private static List<(string Bucket, string Key, string Value)> Content(string db)
    {
        using var reader = new BoltReader(db);
        return [.. reader.Buckets.SelectMany(b => reader.Entries(b).Select(e => (b, Convert.ToHexString(e.Key.Span), Convert.ToHexString(e.Value.Span))))];
    }
}
