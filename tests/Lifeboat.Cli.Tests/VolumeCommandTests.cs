using System.Text.Json;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Testing;
using Lifeboat.Testing.Kube;
using YamlDotNet.RepresentationModel;

namespace Lifeboat.Cli.Tests;

/// <summary><c>lifeboat volumes ...</c> end to end: a kubeconfig file, the test API server and its simulated controllers.</summary>
public sealed class VolumeCommandTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private TestApiServer _server = null!;
    private ClusterSimulator _cluster = null!;

    public async Task InitializeAsync()
    {
        _server = await TestApiServer.StartAsync();
        _server.CreateNamespace("app");
        _cluster = ClusterSimulator.Start(_server);
        WriteKubeconfig("config", TestApiServer.AdminToken);
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    private string WriteKubeconfig(string file, string token)
    {
        var path = Path.Combine(_dir.Path, file);
        File.WriteAllText(path, _server.Kubeconfig(token, "app"));
        return path;
    }

    private Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) =>
        CliRunner.RunAsync([.. args, "--kubeconfig", Path.Combine(_dir.Path, "config"), "--poll-interval", "50ms"]);

    [Fact]
    public async Task Snapshot_Wait_CreatesAndWaitsUntilReady_JsonOnStdout()
    {
        _cluster.AddClaim("app", "db");

        var (code, stdout, stderr) = await RunAsync("volumes", "snapshot", "--pvc", "db", "--wait", "-o", "json");

        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.True(doc.RootElement.GetProperty("ready").GetBoolean());
        Assert.Equal("db", doc.RootElement.GetProperty("sourcePvc").GetString());
        Assert.StartsWith("db-manual-", doc.RootElement.GetProperty("name").GetString(), StringComparison.Ordinal);
        Assert.Contains("ready to use (restore size 1Gi)", stderr, StringComparison.Ordinal); // steps go to stderr with -o json
    }

    [Fact]
    public async Task Snapshot_OfAMissingClaim_IsRefused_InOneLine_Exit7()
    {
        var (code, stdout, stderr) = await RunAsync("volumes", "snapshot", "--pvc", "nope");

        Assert.Equal(ExitCodes.Refused, code);
        Assert.Equal("", stdout);
        Assert.Equal("error: PVC app/nope does not exist — fix: check the name: kubectl get pvc -n app", stderr.Trim());
    }

    [Fact]
    public async Task Snapshot_WithoutCreatePermission_Exit8_NamingTheVerbAndResource()
    {
        _cluster.AddClaim("app", "db");
        _server.AddIdentity("viewer", "system:serviceaccount:app:viewer",
            new RbacRule(["get", "list", "watch"], "*", ["*"]));
        var config = WriteKubeconfig("viewer", "viewer");

        var (code, _, stderr) = await CliRunner.RunAsync("volumes", "snapshot", "--pvc", "db", "--kubeconfig", config);

        Assert.Equal(ExitCodes.KubernetesError, code);
        Assert.Contains("cannot create resource \"volumesnapshots\" in API group \"snapshot.storage.k8s.io\" in the namespace \"app\"", stderr, StringComparison.Ordinal);
        Assert.Contains("fix: grant that verb on that resource", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScheduleRun_AFailingSnapshot_Exit9_AndDryRunChangesNothing()
    {
        _cluster.AddClaim("app", "db");
        _cluster.AddClaim("app", "logs");
        _cluster.SnapshotsOf["logs"] = new SnapshotBehavior { FailWith = "rpc error: code = Internal desc = volume busy" };

        var dry = await RunAsync("volumes", "schedule", "run", "--schedule-name", "nightly", "--cron", "@daily", "--pvc", "db,logs", "--dry-run", "-o", "json");
        Assert.True(dry.ExitCode == 0, dry.Stderr);
        Assert.Empty(_server.All(KubeResource.VolumeSnapshots, "app"));

        var (code, stdout, stderr) = await RunAsync("volumes", "schedule", "run", "--schedule-name", "nightly", "--cron", "@daily", "--pvc", "db", "--pvc", "logs",
            "--keep-last", "3", "--cut-timeout", "1s");

        Assert.Equal(ExitCodes.VolumeFailed, code);
        Assert.Contains("1 snapshot(s) ok, 1 failed, 0 deleted", stdout, StringComparison.Ordinal);
        Assert.Contains("error: 1 snapshot(s) failed: app/logs: failed: not cut; last error: rpc error: code = Internal desc = volume busy", stderr, StringComparison.Ordinal);
        Assert.Equal(2, _server.All(KubeResource.VolumeSnapshots, "app").Count);
    }

    [Fact]
    public async Task Restore_ToANewClaim_ThenList_ShowsTheSnapshot()
    {
        _cluster.AddClaim("app", "db", data: "v1");
        var snap = await RunAsync("volumes", "snapshot", "--pvc", "db", "--name", "db-before-upgrade", "--wait");
        Assert.True(snap.ExitCode == 0, snap.Stderr);

        var (code, stdout, stderr) = await RunAsync("volumes", "restore", "--snapshot", "db-before-upgrade", "--to-pvc", "db-copy");
        var list = await RunAsync("volumes", "list");
        var json = await RunAsync("volumes", "list", "-o", "json", "--pvc", "db");

        Assert.True(code == 0, stderr);
        Assert.Contains("PVC app/db-copy is Bound", stdout, StringComparison.Ordinal);
        Assert.Equal("v1", _cluster.ReadVolume("app", "db-copy"));
        Assert.Contains("db-before-upgrade", list.Stdout, StringComparison.Ordinal);
        Assert.Contains("READY", list.Stdout, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(json.Stdout);
        Assert.Equal("1Gi", doc.RootElement[0].GetProperty("restoreSize").GetString());
    }

    [Theory]
    [InlineData("--snapshot", "s")]
    [InlineData("--snapshot", "s", "--to-pvc", "a", "--in-place", "--pvc", "b")]
    [InlineData("--snapshot", "s", "--in-place")]
    [InlineData("--snapshot", "s", "--to-pvc", "a", "--size", "lots")]
    public async Task Restore_WithContradictingOrMissingTargets_IsAUsageError(params string[] args)
    {
        var (code, _, stderr) = await RunAsync(["volumes", "restore", .. args]);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScheduleRun_WorksWithExactlyTheRbacOfTheDeployManifests_RetriesAndPrunes()
    {
        // The identity gets the rules of deploy/volume-snapshotter/rbac.yaml: the Role in "app", the ClusterRole everywhere.
        var yaml = new YamlStream();
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Lifeboat.slnx")))
        {
            root = Path.GetDirectoryName(root)!;
        }

        using (var reader = new StreamReader(Path.Combine(root, "deploy", "volume-snapshotter", "rbac.yaml")))
        {
            yaml.Load(reader);
        }

        var rules = new List<RbacRule>();
        foreach (var doc in yaml.Documents.Select(d => (YamlMappingNode)d.RootNode))
        {
            var kind = ((YamlScalarNode)doc["kind"]).Value;
            if (kind is not ("Role" or "ClusterRole"))
            {
                continue;
            }

            foreach (var rule in ((YamlSequenceNode)doc["rules"]).Cast<YamlMappingNode>())
            {
                string[] Values(string key) => ((YamlSequenceNode)rule[key]).Cast<YamlScalarNode>().Select(n => n.Value!).ToArray();
                rules.AddRange(Values("apiGroups").Select(g => new RbacRule(Values("verbs"), g, Values("resources"), kind == "Role" ? "app" : null)));
            }
        }

        _server.AddIdentity("job-token", "system:serviceaccount:app:volume-snapshotter", [.. rules]);
        var config = WriteKubeconfig("job", "job-token");
        _cluster.AddClaim("app", "db");
        _server.Mutate(KubeResource.PersistentVolumeClaims, "app", "db", c => c["metadata"]!["labels"] = new System.Text.Json.Nodes.JsonObject { ["lifeboat.io/backup"] = "hourly" });
        string[] args = ["volumes", "schedule", "run", "--schedule-name", "hourly", "--cron", "* * * * *", "-l", "lifeboat.io/backup=hourly", "--keep-last", "1",
            "--kubeconfig", config, "--poll-interval", "50ms"];

        if (DateTimeOffset.UtcNow.Second >= 45)
        {
            await Task.Delay(TimeSpan.FromSeconds(61 - DateTimeOffset.UtcNow.Second)); // first and retry must share a minute
        }

        var first = await CliRunner.RunAsync(args);
        var retry = await CliRunner.RunAsync(args);
        await Task.Delay(TimeSpan.FromSeconds(61 - DateTimeOffset.UtcNow.Second)); // the next minute's slot
        var next = await CliRunner.RunAsync(args);

        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.True(retry.ExitCode == 0, retry.Stderr);
        Assert.True(next.ExitCode == 0, next.Stderr);
        Assert.DoesNotContain("warning", first.Stderr, StringComparison.Ordinal); // nothing it needed was forbidden
        Assert.Contains("already exists (an earlier attempt made it)", retry.Stdout, StringComparison.Ordinal);
        Assert.Contains("1 deleted", next.Stdout, StringComparison.Ordinal);
        Assert.Single(_server.All(KubeResource.VolumeSnapshots, "app"));
    }
}
