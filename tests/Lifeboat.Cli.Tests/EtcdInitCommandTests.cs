using System.Diagnostics;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Etcd.Snapshots;
using Lifeboat.Storage.Local;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary><c>etcd init</c> and <c>etcd run</c> as a user runs them, against real etcd.</summary>
public sealed class EtcdInitCommandTests : EtcdTest
{
    /// <summary>A store with a full snapshot and a delta of the fixture's etcd; returns its newest revision.</summary>
    private async Task<long> BackUpAsync(string store)
    {
        using var client = Etcd.CreateClient();
        for (var i = 0; i < 20; i++)
        {
            await client.PutAsync($"/registry/init/{i}", $"v{i}", default);
        }

        var target = LocalDirectoryStore.Open(store);
        var full = await new FullSnapshotter(client, target).TakeAsync(Core.Snapshots.Compression.Gzip, null, default);
        await client.PutAsync("/registry/init/last", "after-full", default);
        return (await new DeltaCapture(client, target, new DeltaOptions()).CaptureToNowAsync(full.Name.LastRevision, default)).ReachedRevision;
    }

    [Fact]
    public async Task Init_MissingDirectory_Restores_ThenAHealthyOne_IsKept()
    {
        var store = Dir.Combine("store");
        var newest = await BackUpAsync(store);
        var member = LoopbackMember();
        string[] flags = ["etcd", "init", "--store", store, "--data-dir", Dir.Combine("data"), .. MemberArgs(member)];

        var (first, firstOut, firstErr) = await CliRunner.RunAsync(flags);
        var (second, secondOut, secondErr) = await CliRunner.RunAsync(flags);

        Assert.True(first == 0, firstErr);
        Assert.Contains("decision: restore", firstOut, StringComparison.Ordinal);
        Assert.Contains($"at revision {newest}", firstOut, StringComparison.Ordinal);
        Assert.True(second == 0, secondErr);
        Assert.Contains("decision: keep", secondOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Init_WrongToken_ExitsRefused_WithOneLineNamingTheFlag()
    {
        var store = Dir.Combine("store");
        await BackUpAsync(store);
        var member = LoopbackMember();
        var dataDir = Dir.Combine("data");
        await CliRunner.RunAsync(["etcd", "init", "--store", store, "--data-dir", dataDir, .. MemberArgs(member)]);

        var (code, _, stderr) = await CliRunner.RunAsync(["etcd", "init", "--store", store, "--data-dir", dataDir,
            .. MemberArgs(member with { InitialClusterToken = "wrong" })]);

        Assert.Equal(7, code);
        var error = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // the reason once: no warning repeating it
        Assert.StartsWith("error:", error, StringComparison.Ordinal);
        Assert.Contains("--initial-cluster-token", error, StringComparison.Ordinal);
        Assert.Contains("fix:", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_RestoresAMissingDirectory_StartsEtcd_AndRestoresAgainWhenEtcdDiesOnDamage()
    {
        var store = Dir.Combine("store");
        var newest = await BackUpAsync(store);
        var dataDir = Dir.Combine("data");
        var peer = $"http://127.0.0.1:{LoopbackPorts.Next()}";
        var client = $"http://127.0.0.1:{LoopbackPorts.Next()}";
        using var stop = new CancellationTokenSource();
        var run = CliRunner.RunAsync(stop.Token, "etcd", "run", "--store", store, "--",
            "--name", "r1", "--data-dir", dataDir, "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", $"r1={peer}", "--initial-cluster-token", "run-test",
            "--logger", "zap", "--log-outputs", "stderr");
        using var etcd = new Lifeboat.Etcd.Client.EtcdClient(new Lifeboat.Etcd.EtcdClientOptions { Endpoints = [new Uri(client)] });

        async Task<string> ServedAsync() => await Eventually.SucceedsAsync(async ct =>
        {
            Assert.False(run.IsCompleted, "etcd run ended early");
            var kvs = (await etcd.GetAsync("/registry/init/last", ct)).Kvs;
            return kvs.Count == 1 ? kvs[0].Value.ToStringUtf8() : throw new InvalidOperationException("not restored");
        }, TimeSpan.FromSeconds(60), "etcd to serve the restored data");

        Assert.Equal("after-full", await ServedAsync());
        Assert.Equal(newest, (await etcd.StatusAsync(null, default)).Header.Revision);

        // The member's database is destroyed under it and etcd dies: run restores and restarts it.
        File.Delete(Path.Combine(dataDir, "member", "snap", "db"));
        KillEtcdOn(dataDir);
        Assert.Equal("after-full", await ServedAsync());
        Assert.Single(Directory.GetDirectories(Dir.Path, "data.damaged-*"));

        await stop.CancelAsync();
        var (code, _, stderr) = await run;
        Assert.True(code == 0, stderr);

        // Off a terminal, a long-running command logs JSON lines, each with its UTC time, as the sidecar does.
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('{') && l.Contains("\"Category\":\"Lifeboat.", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Matches("^\\{\"Timestamp\":\"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\"", l));
    }

    [Fact]
    public async Task Serve_InitializationEndpoints_RestoreBeforeEtcdStarts_AndRefuseWhileItRuns()
    {
        var store = Dir.Combine("store");
        var newest = await BackUpAsync(store);
        var member = LoopbackMember();
        var dataDir = Dir.Combine("data");
        var notYetStarted = $"http://127.0.0.1:{LoopbackPorts.Next()}"; // the member's etcd, which waits for init
        using var sidecar = RunningSidecar.Start(["--endpoints", notYetStarted, "--store", store, "--data-dir", dataDir, .. MemberArgs(member)]);
        var http = sidecar.Http;
        await Eventually.SucceedsAsync(async ct => (await http.GetAsync("/healthz", ct)).EnsureSuccessStatusCode(), TimeSpan.FromSeconds(30), "the sidecar to listen");

        var before = await http.GetStringAsync("/initialization/status");
        var started = await http.PostAsync("/initialization/start", null);
        var done = await Eventually.SucceedsAsync(async ct =>
        {
            using var doc = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/initialization/status", ct));
            return doc.RootElement.GetProperty("status").GetString() is "Successful" or "Failed"
                ? doc.RootElement.Clone() : throw new InvalidOperationException("still running");
        }, TimeSpan.FromSeconds(60), "initialization to finish");

        Assert.Equal(0, (await sidecar.StopAsync()).ExitCode);
        Assert.Contains("\"New\"", before, StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal("Successful", done.GetProperty("status").GetString());
        Assert.Equal("restore", done.GetProperty("decision").GetString());
        Assert.Equal(newest, done.GetProperty("revision").GetInt64());
        await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
        using var client = restored.CreateClient();
        Assert.Equal(newest, (await client.StatusAsync(null, default)).Header.Revision);

        // With etcd serving on the directory, initialization refuses to touch it. (Restored with other member flags,
        // it is a cluster of its own, which replaces the one whose snapshots the store holds.)
        var replaced = Path.GetFileName(Directory.GetFiles(Path.Combine(store, "etcd"), "full-*").Single()).Split('-', '.')[4];
        using var second = RunningSidecar.Start(["--endpoints", restored.ClientUrl.ToString(), "--store", store, "--data-dir", dataDir, "--replaces-cluster", replaced, .. MemberArgs(member)]);
        var http2 = second.Http;
        await Eventually.SucceedsAsync(async ct => (await http2.PostAsync("/initialization/start", null, ct)).EnsureSuccessStatusCode(), TimeSpan.FromSeconds(30), "the second sidecar");
        var refused = await Eventually.SucceedsAsync(async ct =>
        {
            using var doc = System.Text.Json.JsonDocument.Parse(await http2.GetStringAsync("/initialization/status", ct));
            return doc.RootElement.GetProperty("status").GetString() == "Failed" ? doc.RootElement.Clone() : throw new InvalidOperationException("not failed yet");
        }, TimeSpan.FromSeconds(30), "initialization to refuse");
        await second.StopAsync();
        Assert.Contains("already serving", refused.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    /// <summary>etcd's member flags as command-line arguments.</summary>
    private static string[] MemberArgs(Lifeboat.Etcd.Restore.MemberFlags member) =>
    [
        "--name", member.Name, "--initial-cluster", member.InitialCluster,
        "--initial-advertise-peer-urls", member.InitialAdvertisePeerUrls, "--initial-cluster-token", member.InitialClusterToken,
    ];

    private static void KillEtcdOn(string dataDir)
    {
        foreach (var process in Process.GetProcessesByName("etcd"))
        {
            var cmdline = File.ReadAllText($"/proc/{process.Id}/cmdline");
            if (cmdline.Contains(dataDir, StringComparison.Ordinal))
            {
                process.Kill();
                process.WaitForExit();
            }
        }
    }
}
