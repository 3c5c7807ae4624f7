using System.Diagnostics;
using System.Text.Json;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

public sealed class EtcdSnapshotCommandTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private EtcdServer? _etcd;

    private EtcdServer Etcd => _etcd!;

    private string Store => _dir.Combine("store");

    public async Task InitializeAsync()
    {
        _etcd = await EtcdServer.StartAsync();
        using var client = Etcd.CreateClient();
        await EtcdLoad.PutManyAsync(client, "/cli/", 500, 1000);
    }

    public async Task DisposeAsync()
    {
        await Etcd.DisposeAsync();
        _dir.Dispose();
    }

    private static void AssertOneLineError(string stderr, string expected)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(" — fix: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    private List<string> StoredFiles() =>
        Directory.Exists(Store) ? Directory.EnumerateFiles(Store, "*", SearchOption.AllDirectories).ToList() : [];

    [Fact]
    public async Task SnapshotFull_ThenList_ShowsTheSnapshotInTextAndJson()
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Etcd.ClientUrl.ToString(), "--store", "file://" + Store);
        Assert.True(code == 0, stderr);
        Assert.StartsWith("stored etcd/full-", stdout, StringComparison.Ordinal);

        var (listCode, table, _) = await CliRunner.RunAsync("etcd", "snapshots", "list", "--store", Store);
        var (_, json, _) = await CliRunner.RunAsync("etcd", "snapshots", "list", "--store", Store, "-o", "json");

        Assert.Equal(0, listCode);
        Assert.StartsWith("KIND", table, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(json);
        var snapshot = Assert.Single(doc.RootElement.GetProperty("snapshots").EnumerateArray());
        Assert.Equal("full", snapshot.GetProperty("kind").GetString());
        Assert.Equal("none", snapshot.GetProperty("compression").GetString());
        Assert.True(snapshot.GetProperty("lastRevision").GetInt64() > 1);
    }

    [Fact]
    public async Task SnapshotFull_JsonOutput_ReportsRevisionAndHash()
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Etcd.ClientUrl.ToString(),
            "--store", Store, "--compression", "gzip", "-o", "json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.EndsWith(".db.gz", doc.RootElement.GetProperty("key").GetString(), StringComparison.Ordinal);
        Assert.Equal(64, doc.RootElement.GetProperty("databaseSha256").GetString()!.Length);
    }

    [Fact]
    public async Task SnapshotFull_UnreachableEndpoint_Exits3WithOneLineAndNoFile()
    {
        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", $"http://127.0.0.1:{LoopbackPorts.Next()}", "--store", Store);
        Assert.Equal(ExitCodes.EtcdUnavailable, code);
        AssertOneLineError(stderr, "connection refused");
        Assert.Empty(StoredFiles());

        // Nothing is created before etcd answers: not the store directory, not its .tmp.
        var fresh = Path.Combine(Store, "never-created");
        foreach (var kind in new[] { "full", "delta" })
        {
            var (again, _, againErr) = await CliRunner.RunAsync("etcd", "snapshot", kind, "--endpoints", $"http://127.0.0.1:{LoopbackPorts.Next()}", "--store", fresh);
            Assert.Equal(ExitCodes.EtcdUnavailable, again);
            AssertOneLineError(againErr, "connection refused");
            Assert.False(Directory.Exists(fresh), $"snapshot {kind} created the store before reaching etcd");
        }
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:2379", "http://")]
    [InlineData("http://127.0.0.1:2379/v3", "path")]
    [InlineData("127.0.0.1:2379", "has no scheme: write it as http://127.0.0.1:2379 or https://127.0.0.1:2379")]
    public async Task SnapshotFull_BadEndpoint_Exits2(string endpoint, string expected)
    {
        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", endpoint, "--store", Store);
        Assert.Equal(ExitCodes.Usage, code);
        AssertOneLineError(stderr, expected);
    }

    [Fact]
    public async Task SnapshotFull_NoStoreOrUnknownFlag_Exits2()
    {
        var (noStore, _, stderr1) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Etcd.ClientUrl.ToString());
        var (unknown, _, stderr2) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--store", Store, "--bogus");
        var (badCompression, _, _) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--store", Store, "--compression", "brotli");

        Assert.Equal(ExitCodes.Usage, noStore);
        AssertOneLineError(stderr1, "--store");
        Assert.Equal(ExitCodes.Usage, unknown);
        Assert.Contains("--bogus", stderr2, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, badCompression);
    }

    [Fact]
    public async Task SnapshotFull_StoreNotWritable_Exits5()
    {
        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Etcd.ClientUrl.ToString(), "--store", "/proc/lifeboat/store");
        Assert.Equal(ExitCodes.StoreError, code);
        AssertOneLineError(stderr, "/proc/lifeboat/store");
    }

    [Fact]
    public async Task SnapshotFull_DiskFullMidSnapshot_Exits5AndLeavesNoFile()
    {
        // A real ENOSPC: a 256 KiB tmpfs holds less than the ~1 MB database.
        var mountPoint = _dir.Combine("tiny");
        Directory.CreateDirectory(mountPoint);
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mountPoint);
        try
        {
            var (code, _, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Etcd.ClientUrl.ToString(), "--store", mountPoint);

            Assert.Equal(ExitCodes.StoreError, code);
            AssertOneLineError(stderr, "no space left on device");
            Assert.Empty(Directory.EnumerateFiles(mountPoint, "*", SearchOption.AllDirectories));
        }
        finally
        {
            await RunAsync("umount", mountPoint);
        }
    }

    [Fact]
    public async Task SnapshotFull_Verbose_AddsTheStackTrace()
    {
        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", $"http://127.0.0.1:{LoopbackPorts.Next()}", "--store", Store, "--verbose");
        Assert.Equal(ExitCodes.EtcdUnavailable, code);
        Assert.Contains("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SnapshotsList_EmptyStore_SaysSoAndSucceeds()
    {
        Directory.CreateDirectory(Store);
        var (code, stdout, stderr) = await CliRunner.RunAsync("etcd", "snapshots", "list", "--store", Store);
        Assert.Equal(0, code);
        Assert.Empty(stdout);
        Assert.Contains("no etcd snapshots", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SnapshotsList_MissingStore_Exits5AndCreatesNothing()
    {
        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "snapshots", "list", "--store", Store);
        Assert.Equal(ExitCodes.StoreError, code);
        AssertOneLineError(stderr, "does not exist");
        Assert.False(Directory.Exists(Store));
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {err} — these tests run as root, as CI does");
        }
    }
}
