using System.Text.Json;
using Lifeboat.Etcd.Client;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

public sealed class EtcdRestoreCommandTests : EtcdTest
{
    private string Store => Dir.Combine("store");

    private string Endpoint => Etcd.ClientUrl.ToString();

    private static string[] Member(int port) =>
        ["--name", "lifeboat-test", "--initial-cluster", $"lifeboat-test=http://127.0.0.1:{port}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{port}"];

    private static async Task<long> WriteAsync(EtcdClient client, string key, string value) => (await client.PutAsync(key, value, default)).Header.Revision;

    [Fact]
    public async Task DeltaThenRestore_Latest_BringsBackEveryChangeAtTheSourceRevision()
    {
        using var client = Etcd.CreateClient();
        await WriteAsync(client, "/r/a", "1");
        var (first, firstOut, firstErr) = await CliRunner.RunAsync("etcd", "snapshot", "delta", "--endpoints", Endpoint, "--store", Store);
        Assert.True(first == 0, firstErr);
        Assert.Contains("a new chain", firstOut, StringComparison.Ordinal);
        Assert.Contains("no full snapshot", firstErr, StringComparison.Ordinal);

        await WriteAsync(client, "/r/b", "2");
        await client.DeleteRangeAsync(new Lifeboat.Etcd.Protocol.DeleteRangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("/r/a") }, default);
        var last = await WriteAsync(client, "/r/c", "3");
        var (code, stdout, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "delta", "--endpoints", Endpoint, "--store", Store, "-o", "json");
        Assert.True(code == 0, stderr);
        using (var doc = JsonDocument.Parse(stdout))
        {
            Assert.Equal(last, Assert.Single(doc.RootElement.GetProperty("deltas").EnumerateArray()).GetProperty("name").GetProperty("lastRevision").GetInt64());
        }

        var dataDir = Dir.Combine("restored");
        var (restore, restoreOut, restoreErr) = await CliRunner.RunAsync(["etcd", "restore", "--store", Store, "--data-dir", dataDir, .. Member(LoopbackPorts.Next())]);
        Assert.True(restore == 0, restoreErr);
        Assert.Contains($"at revision {last}", restoreOut, StringComparison.Ordinal);
        Assert.DoesNotContain("restore: ", restoreErr, StringComparison.Ordinal); // quicker than the progress interval: no progress lines

        // Every phase says what it does, in order, with bytes (binary units, named as such) or revisions: no phase
        // hides behind "replay 0%". A process of its own, so that the progress interval set here touches no other test.
        await LifeboatShim.WriteAsync(Dir.Path);
        var shown = await Shell.RunAsync(
            $"./lifeboat etcd restore --store '{Store}' --data-dir '{Dir.Combine("shown")}' {string.Join(' ', Member(LoopbackPorts.Next()))}", Dir.Path,
            new Dictionary<string, string?> { ["LIFEBOAT_PROGRESS_INTERVAL"] = "0s" });
        Assert.True(shown.ExitCode == 0, shown.ToString());
        var phases = shown.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("restore: ", StringComparison.Ordinal))
            .Select(l => l.Split(':')[1].Trim()).Distinct().ToList();
        Assert.Equal(["verify", "extract", "replay", "layout"], phases);
        Assert.Matches(@"restore: extract: [\d.]+ (B|KiB|MiB) of [\d.]+ (B|KiB|MiB), [\d.]+ (B|KiB|MiB)/s", shown.Stderr);
        Assert.DoesNotContain(" MB", shown.Stderr, StringComparison.Ordinal);

        await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
        using var restoredClient = restored.CreateClient();
        Assert.Equal(last, (await restoredClient.StatusAsync(null, default)).Header.Revision);
        Assert.Empty((await restoredClient.GetAsync("/r/a", default)).Kvs);
        Assert.Equal("3", Assert.Single((await restoredClient.GetAsync("/r/c", default)).Kvs).Value.ToStringUtf8());
    }

    [Fact]
    public async Task Restore_NonEmptyDataDir_Exits7UnlessForced_AndForceMovesItAside()
    {
        using var client = Etcd.CreateClient();
        await WriteAsync(client, "/f/a", "1");
        await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Endpoint, "--store", Store);
        var dataDir = Dir.Combine("busy");
        Directory.CreateDirectory(dataDir);
        await File.WriteAllTextAsync(Path.Combine(dataDir, "precious"), "keep me");

        var (refused, _, stderr) = await CliRunner.RunAsync(["etcd", "restore", "--store", Store, "--data-dir", dataDir, .. Member(LoopbackPorts.Next())]);
        Assert.Equal(ExitCodes.Refused, refused);
        Assert.Contains("--force", stderr, StringComparison.Ordinal);
        Assert.Equal("keep me", await File.ReadAllTextAsync(Path.Combine(dataDir, "precious")));

        var (forced, stdout, forcedErr) = await CliRunner.RunAsync(["etcd", "restore", "--store", Store, "--data-dir", dataDir, "--force", .. Member(LoopbackPorts.Next())]);
        Assert.True(forced == 0, forcedErr);
        var aside = Assert.Single(Directory.GetDirectories(Dir.Path, "busy.replaced-*"));
        Assert.Equal("keep me", await File.ReadAllTextAsync(Path.Combine(aside, "precious")));
        Assert.True(Directory.Exists(Path.Combine(dataDir, "member")));
        Assert.Contains(aside, stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_ChainWithAMissingDelta_Exits7NamingTheGap_AndRestoresUpToIt()
    {
        using var client = Etcd.CreateClient();
        await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Endpoint, "--store", Store);
        var ends = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            ends.Add(await WriteAsync(client, $"/g/{i}", "v"));
            await CliRunner.RunAsync("etcd", "snapshot", "delta", "--endpoints", Endpoint, "--store", Store);
        }

        var middle = Directory.GetFiles(Path.Combine(Store, "etcd"), "delta-*").Order(StringComparer.Ordinal).ElementAt(1);
        File.Delete(middle);

        var (code, _, stderr) = await CliRunner.RunAsync(["etcd", "restore", "--store", Store, "--data-dir", Dir.Combine("gap"), .. Member(LoopbackPorts.Next())]);
        var (upTo, _, upToErr) = await CliRunner.RunAsync(["etcd", "restore", "--store", Store, "--data-dir", Dir.Combine("before-gap"),
            "--to-revision", ends[0].ToString(System.Globalization.CultureInfo.InvariantCulture), .. Member(LoopbackPorts.Next())]);

        Assert.Equal(ExitCodes.Refused, code);
        Assert.Contains($"revision {ends[1]} is in no delta", stderr, StringComparison.Ordinal);
        Assert.Contains($"--to-revision {ends[0]}", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Dir.Combine("gap")));
        Assert.True(upTo == 0, upToErr);
    }

    [Fact]
    public async Task Restore_BadTargets_Exit7AndWriteNothing()
    {
        using var client = Etcd.CreateClient();
        var revision = await WriteAsync(client, "/t/a", "1");
        var dataDir = Dir.Combine("never");

        var (noFull, _, noFullErr) = await CliRunner.RunAsync("etcd", "restore", "--store", Dir.Combine("empty-store"), "--data-dir", dataDir);
        Directory.CreateDirectory(Dir.Combine("empty-store"));
        var (emptyStore, _, emptyErr) = await CliRunner.RunAsync("etcd", "restore", "--store", Dir.Combine("empty-store"), "--data-dir", dataDir);
        await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Endpoint, "--store", Store);
        var (past, _, pastErr) = await CliRunner.RunAsync("etcd", "restore", "--store", Store, "--data-dir", dataDir, "--to-revision", (revision + 100).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var (before, _, _) = await CliRunner.RunAsync("etcd", "restore", "--store", Store, "--data-dir", dataDir, "--to-revision", "1");

        Assert.Equal(ExitCodes.StoreError, noFull);
        Assert.Contains("does not exist", noFullErr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Refused, emptyStore);
        Assert.Contains("no full snapshot", emptyErr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Refused, past);
        Assert.Contains("past the newest", pastErr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Refused, before);
        Assert.False(Directory.Exists(dataDir));
        Assert.Empty(Directory.GetDirectories(Dir.Path, ".never*"));
    }

    /// <summary>
    /// The container image has no etcd and no etcdctl: restore and init work with neither on PATH (only dotnet), and
    /// etcd starts on what they wrote. init --mode full, which starts etcd, says what is missing.
    /// </summary>
    [Fact]
    public async Task RestoreAndInit_NeedNoEtcdBinaries()
    {
        using var client = Etcd.CreateClient();
        await WriteAsync(client, "/nobin/a", "1");
        Assert.Equal(0, (await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Endpoint, "--store", Store)).ExitCode);
        await WriteAsync(client, "/nobin/b", "2");
        var last = await WriteAsync(client, "/nobin/a", "3");
        Assert.Equal(0, (await CliRunner.RunAsync("etcd", "snapshot", "delta", "--endpoints", Endpoint, "--store", Store)).ExitCode);

        await LifeboatShim.WriteAsync(Dir.Path);
        var path = new Dictionary<string, string?> { ["PATH"] = LifeboatShim.DotnetOnlyPath(Dir.Path) };
        var member = string.Join(' ', Member(LoopbackPorts.Next()));
        var restored = Dir.Combine("restored");
        var initialized = Dir.Combine("initialized");

        var restore = await Shell.RunAsync($"./lifeboat etcd restore --store '{Store}' --data-dir '{restored}' {member}", Dir.Path, path);
        var init = await Shell.RunAsync($"./lifeboat etcd init --store '{Store}' --data-dir '{initialized}' {member}", Dir.Path, path);
        var full = await Shell.RunAsync($"./lifeboat etcd init --mode full --store '{Store}' --data-dir '{initialized}' {member}", Dir.Path, path);

        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.True(init.ExitCode == 0, init.ToString());
        Assert.Equal(ExitCodes.Refused, full.ExitCode);
        Assert.Contains("etcd is not installed", full.Stderr, StringComparison.Ordinal);

        // A healthy single member behind the store is proved by starting etcd on a copy, where etcd is installed;
        // without it, init decides from the database, says so, and keeps the directory it replaces.
        var newer = await WriteAsync(client, "/nobin/c", "4");
        Assert.Equal(0, (await CliRunner.RunAsync("etcd", "snapshot", "delta", "--endpoints", Endpoint, "--store", Store)).ExitCode);
        var behind = await Shell.RunAsync($"./lifeboat etcd init --store '{Store}' --data-dir '{initialized}' {member}", Dir.Path, path);
        Assert.True(behind.ExitCode == 0, behind.ToString());
        Assert.Contains("was not proved by starting etcd", behind.Stderr, StringComparison.Ordinal);
        Assert.Single(Directory.GetDirectories(Dir.Path, "initialized.replaced-*"));

        foreach (var (dataDir, revision) in new[] { (restored, last), (initialized, newer) })
        {
            await using var etcd = await EtcdServer.StartAsync(dataDir: dataDir);
            using var restoredClient = etcd.CreateClient();
            Assert.Equal(revision, (await restoredClient.StatusAsync(null, default)).Header.Revision);
            Assert.Equal("3", (await restoredClient.GetAsync("/nobin/a", default)).Kvs.Single().Value.ToStringUtf8());
            Assert.Equal("2", (await restoredClient.GetAsync("/nobin/b", default)).Kvs.Single().Value.ToStringUtf8());
        }
    }

    /// <summary>
    /// A three-member cluster restored member by member, each with its own flags as its pod would pass them: the
    /// members form one cluster, elect a leader, hold the source's revision and report the source's HashKV, and take
    /// writes that every member then serves.
    /// </summary>
    [Fact]
    public async Task ThreeMembers_RestoredOneByOne_FormTheCluster_WithTheSourcesHash()
    {
        using var client = Etcd.CreateClient();
        for (var i = 0; i < 200; i++)
        {
            await WriteAsync(client, $"/three/{i % 40}", $"v{i}");
        }

        Assert.Equal(0, (await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Endpoint, "--store", Store)).ExitCode);
        for (var i = 0; i < 100; i++)
        {
            await WriteAsync(client, $"/three/{i % 60}", $"w{i}");
        }

        await client.DeleteRangeAsync(new Lifeboat.Etcd.Protocol.DeleteRangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("/three/1") }, default);
        var last = await WriteAsync(client, "/three/last", "x");
        Assert.Equal(0, (await CliRunner.RunAsync("etcd", "snapshot", "delta", "--endpoints", Endpoint, "--store", Store)).ExitCode);
        var sourceHash = (await client.HashKVAsync(last, null, default)).Hash;

        var members = Enumerable.Range(0, 3).Select(i => (Name: $"m{i}", Client: LoopbackPorts.Next(), Peer: LoopbackPorts.Next(), Dir: Dir.Combine($"m{i}"))).ToList();
        var initialCluster = string.Join(',', members.Select(m => $"{m.Name}=http://127.0.0.1:{m.Peer}"));
        foreach (var m in members)
        {
            var (code, _, stderr) = await CliRunner.RunAsync("etcd", "restore", "--store", Store, "--data-dir", m.Dir, "--name", m.Name,
                "--initial-cluster", initialCluster, "--initial-cluster-token", "restored-cluster", "--initial-advertise-peer-urls", $"http://127.0.0.1:{m.Peer}");
            Assert.True(code == 0, stderr);
        }

        var servers = await Task.WhenAll(members.Select(m => EtcdServer.StartMemberAsync(m.Name, m.Client, m.Peer, initialCluster, "restored-cluster", m.Dir)));
        try
        {
            var clients = servers.Select(s => s.CreateClient(commandTimeout: TimeSpan.FromSeconds(5))).ToList();
            var statuses = await Eventually.SucceedsAsync(async ct =>
            {
                var all = await Task.WhenAll(clients.Select(c => c.StatusAsync(null, ct)));
                return all.All(s => s.Leader != 0 && s.Leader == all[0].Leader) ? all : throw new InvalidOperationException("no common leader yet");
            }, TimeSpan.FromSeconds(30), "the restored members to elect a leader");
            Assert.Equal(3, statuses.Select(s => s.Header.MemberId).Distinct().Count());
            Assert.Single(statuses.Select(s => s.Header.ClusterId).Distinct());
            foreach (var c in clients)
            {
                var hash = await c.HashKVAsync(last, null, default);
                Assert.Equal(sourceHash, hash.Hash);
            }

            var written = await clients[0].PutAsync("/three/after", "together", default);
            foreach (var c in clients)
            {
                await Eventually.SucceedsAsync(async ct => (await c.GetAsync("/three/after", ct)).Header.Revision >= written.Header.Revision
                    ? 0 : throw new InvalidOperationException("not applied yet"), TimeSpan.FromSeconds(10), "the write to reach every member");
                Assert.Equal("together", (await c.GetAsync("/three/after", default)).Kvs.Single().Value.ToStringUtf8());
            }

            foreach (var c in clients)
            {
                c.Dispose();
            }
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }
}
