using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Storage.Azure;
using Lifeboat.Storage.S3;
using Lifeboat.Testing;
using Lifeboat.Testing.Kube;

namespace Lifeboat.Cli.Tests;

/// <summary><c>lifeboat resources ...</c> end to end: a kubeconfig file, the test API server, a directory store and a real S3 server.</summary>
public sealed class ResourceCommandTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private TestApiServer _server = null!;

    private string Store => _dir.Combine("store");

    public async Task InitializeAsync()
    {
        _server = await TestApiServer.StartAsync();
        _server.CrdEstablishDelay = TimeSpan.Zero;
        _server.Seed(KubeResource.Namespaces, Obj("""{"metadata":{"name":"shop","labels":{"team":"shop"}}}"""));
        _server.Seed(KubeResource.ConfigMaps, Obj("""{"metadata":{"name":"settings","namespace":"shop","labels":{"app":"shop"}},"data":{"color":"blue"}}"""));
        _server.Seed(KubeResource.Secrets, Obj("""{"metadata":{"name":"creds","namespace":"shop"},"type":"Opaque","data":{"password":"dG9wLXNlY3JldC12YWx1ZQ=="}}"""));
        _server.Seed(KubeResource.Deployments, Obj("""{"metadata":{"name":"web","namespace":"shop"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"shop"}},"template":{"metadata":{"labels":{"app":"shop"}},"spec":{"containers":[{"name":"web","image":"nginx"}]}}}}"""));
        File.WriteAllText(_dir.Combine("config"), _server.Kubeconfig(TestApiServer.AdminToken, "default"));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    private static JsonObject Obj(string json) => JsonNode.Parse(json)!.AsObject();

    private Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) =>
        CliRunner.RunAsync([.. args, "--kubeconfig", _dir.Combine("config"), "--poll-interval", "50ms"]);

    [Fact]
    public async Task Backup_List_Describe_DeleteNamespace_Restore()
    {
        var (code, stdout, stderr) = await RunAsync("resources", "backup", "nightly", "--store", Store, "--include-namespaces", "shop");
        Assert.True(code == 0, stderr);
        Assert.Contains("backup nightly Completed", stdout, StringComparison.Ordinal);
        Assert.Contains("holds 1 Secret(s) unencrypted", stderr, StringComparison.Ordinal);

        var (listCode, list, _) = await CliRunner.RunAsync("resources", "list", "--store", Store);
        Assert.Equal(0, listCode);
        Assert.Matches(@"nightly\s+Completed\s+4\s+1\s", list);

        var (_, describe, _) = await CliRunner.RunAsync("resources", "describe", "nightly", "--store", Store, "--details");
        Assert.Contains("configmaps", describe, StringComparison.Ordinal);
        Assert.Contains("shop=1", describe, StringComparison.Ordinal);
        Assert.Contains("Namespaces:  include shop", describe, StringComparison.Ordinal);

        var (_, json, _) = await CliRunner.RunAsync("resources", "describe", "nightly", "--store", Store, "-o", "json");
        using (var doc = JsonDocument.Parse(json))
        {
            Assert.Equal(4, doc.RootElement.GetProperty("totalItems").GetInt32());
        }

        using (var client = new KubeClient(_server.Connection()))
        {
            await client.DeleteAsync(KubeResource.Namespaces, null, "shop", CancellationToken.None);
        }

        var (dryCode, dryOut, dryErr) = await RunAsync("resources", "restore", "nightly", "--store", Store, "--dry-run");
        Assert.True(dryCode == 0, dryErr);
        Assert.Contains("[dry run] would restore from nightly: 4 created", dryOut, StringComparison.Ordinal);
        Assert.Null(_server.Peek(KubeResource.Namespaces, null, "shop"));

        var (restoreCode, restoreOut, restoreErr) = await RunAsync("resources", "restore", "nightly", "--store", Store, "-o", "json");
        Assert.True(restoreCode == 0, restoreErr);
        using (var doc = JsonDocument.Parse(restoreOut))
        {
            Assert.All(doc.RootElement.GetProperty("items").EnumerateArray(), i => Assert.Equal("Created", i.GetProperty("outcome").GetString()));
        }

        Assert.Equal("blue", (string?)_server.Peek(KubeResource.ConfigMaps, "shop", "settings")!["data"]!["color"]);
        Assert.Equal("shop", (string?)_server.Peek(KubeResource.Namespaces, null, "shop")!["metadata"]!["labels"]!["team"]);

        var (again, againOut, _) = await RunAsync("resources", "restore", "nightly", "--store", Store, "--existing", "skip");
        Assert.Equal(0, again);
        Assert.Contains("0 created, 0 updated, 0 unchanged, 4 skipped", againOut, StringComparison.Ordinal);

        var (deleteCode, _, _) = await CliRunner.RunAsync("resources", "delete", "nightly", "--store", Store);
        Assert.Equal(0, deleteCode);
        var (missing, _, missingErr) = await CliRunner.RunAsync("resources", "describe", "nightly", "--store", Store);
        Assert.Equal(ExitCodes.Refused, missing);
        Assert.Contains("no resource backup 'nightly'", missingErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadInput_OneLineErrors_DocumentedCodes_NothingWritten()
    {
        var (typo, _, typoErr) = await RunAsync("resources", "backup", "b", "--store", Store, "--include-resources", "deploymnets");
        Assert.Equal(ExitCodes.Usage, typo);
        Assert.Contains("deploymnets", typoErr, StringComparison.Ordinal);

        var (badName, _, badNameErr) = await RunAsync("resources", "backup", "Bad_Name", "--store", Store);
        Assert.Equal(ExitCodes.Usage, badName);
        Assert.Contains("not a valid backup name", badNameErr, StringComparison.Ordinal);

        var (badMap, _, badMapErr) = await RunAsync("resources", "restore", "b", "--store", Store, "--namespace-mapping", "shop");
        Assert.Equal(ExitCodes.Usage, badMap);
        Assert.Contains("old:new", badMapErr, StringComparison.Ordinal);

        var (noBackup, _, noBackupErr) = await RunAsync("resources", "restore", "nope", "--store", Store);
        Assert.Equal(ExitCodes.Refused, noBackup);
        Assert.Contains("no resource backup 'nope'", noBackupErr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Store, "resources")) && Directory.EnumerateFiles(Path.Combine(Store, "resources"), "*", SearchOption.AllDirectories).Any());

        Assert.Equal(0, (await RunAsync("resources", "backup", "b", "--store", Store)).ExitCode);
        var (twice, _, twiceErr) = await RunAsync("resources", "backup", "b", "--store", Store);
        Assert.Equal(ExitCodes.Refused, twice);
        Assert.Contains("already exists", twiceErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PartialBackup_Exits10_AndIsListedAsPartiallyFailed()
    {
        _server.AddIdentity("reader", "reader", new RbacRule(["get", "list"], "", ["namespaces", "configmaps"]), new RbacRule(["get", "list"], "apps", ["deployments"]));
        File.WriteAllText(_dir.Combine("reader"), _server.Kubeconfig("reader", "default"));

        var (code, _, stderr) = await CliRunner.RunAsync("resources", "backup", "part", "--store", Store, "--include-namespaces", "shop",
            "--include-resources", "configmaps,secrets,deployments.apps", "--kubeconfig", _dir.Combine("reader"));

        Assert.Equal(ExitCodes.PartiallyFailed, code);
        Assert.Contains("error: resource secrets in namespace shop: ", stderr, StringComparison.Ordinal);
        Assert.Contains("is PartiallyFailed", stderr, StringComparison.Ordinal);
        var (_, list, _) = await CliRunner.RunAsync("resources", "list", "--store", Store);
        Assert.Matches(@"part\s+PartiallyFailed", list);
    }

    [Fact]
    public async Task ThroughS3_Encrypted_SecretsNeverInClearInTheBucket()
    {
        await using var s3 = await S3Server.StartAsync();
        Directory.CreateDirectory(_dir.Combine("creds"));
        await File.WriteAllTextAsync(_dir.Combine("creds", FileCredentials.AccessKeyFile), S3Server.AccessKey + "\n");
        await File.WriteAllTextAsync(_dir.Combine("creds", FileCredentials.SecretKeyFile), S3Server.SecretKey + "\n");
        var key = _dir.Combine("backup.key");
        await File.WriteAllBytesAsync(key, RandomNumberGenerator.GetBytes(32));
        string[] store = ["--store", $"s3://{S3Server.Bucket}/objects", "--s3-endpoint", s3.Endpoint.ToString(), "--s3-force-path-style",
            "--s3-credentials-dir", _dir.Combine("creds"), "--encryption-key-file", key];

        var (code, _, stderr) = await RunAsync(["resources", "backup", "enc", "--include-namespaces", "shop", .. store]);
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("unencrypted", stderr, StringComparison.Ordinal);

        var files = Directory.EnumerateFiles(s3.DataDir, "*", SearchOption.AllDirectories).ToList();
        Assert.Contains(files, f => f.Contains("enc.tar.gz.enc-", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.DoesNotContain("top-secret-value", System.Text.Encoding.Latin1.GetString(bytes), StringComparison.Ordinal);
            Assert.DoesNotContain("dG9wLXNlY3JldC12YWx1ZQ", System.Text.Encoding.Latin1.GetString(bytes), StringComparison.Ordinal);
        }

        _server.Remove(KubeResource.Secrets, "shop", "creds");
        var (restore, restoreOut, restoreErr) = await RunAsync(["resources", "restore", "enc", "--name", "secret/creds", .. store]);
        Assert.True(restore == 0, restoreErr);
        Assert.Contains("1 created", restoreOut, StringComparison.Ordinal);
        Assert.Equal("dG9wLXNlY3JldC12YWx1ZQ==", (string?)_server.Peek(KubeResource.Secrets, "shop", "creds")!["data"]!["password"]);

        var withoutKey = store.Where(a => a != key && a != "--encryption-key-file").ToArray();
        var (refused, _, refusedErr) = await RunAsync(["resources", "restore", "enc", .. withoutKey]);
        Assert.Equal(ExitCodes.Refused, refused);
        Assert.Contains("key", refusedErr, StringComparison.Ordinal);

        // Listing needs no key: what cannot be read is listed by name, with the id of the key it needs.
        var (list, listOut, listErr) = await CliRunner.RunAsync(["resources", "list", .. withoutKey]);
        Assert.Equal(0, list);
        Assert.Matches(@"enc\s+encrypted \(key [0-9a-f]+\)", listOut);
        Assert.Contains("pass that key with --decryption-key-file", listErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThroughAzureBlob_WithAMountedSecretsFiles_BackupListRestore()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        var creds = _dir.Combine("azure");
        Directory.CreateDirectory(creds);
        await File.WriteAllTextAsync(Path.Combine(creds, AzureCredentialFiles.AccountFile), AzuriteServer.Account + "\n");
        await File.WriteAllTextAsync(Path.Combine(creds, AzureCredentialFiles.KeyFile), AzuriteServer.AccountKey + "\n");
        string[] store = ["--store", $"azblob://{AzuriteServer.Container}/objects", $"--azure-endpoint={azurite.ServiceUri}", "--azure-credentials-dir", creds];

        var (code, _, stderr) = await RunAsync(["resources", "backup", "az", "--include-namespaces", "shop", .. store]);
        Assert.True(code == 0, stderr);
        var (listCode, list, listErr) = await CliRunner.RunAsync(["resources", "list", .. store]);
        Assert.True(listCode == 0, listErr);
        Assert.Matches(@"az\s+Completed\s+4\s", list);

        _server.Remove(KubeResource.ConfigMaps, "shop", "settings");
        var (restore, restoreOut, restoreErr) = await RunAsync(["resources", "restore", "az", "--name", "configmap/settings", .. store]);
        Assert.True(restore == 0, restoreErr);
        Assert.Contains("1 created", restoreOut, StringComparison.Ordinal);
        Assert.Equal("blue", (string?)_server.Peek(KubeResource.ConfigMaps, "shop", "settings")!["data"]!["color"]);
    }

    [Fact]
    public async Task Copy_ToAnotherStore_ArchivesBeforeManifests_OnlyWhatIsMissing_AndTheCopyRestores()
    {
        var (code, _, stderr) = await RunAsync("resources", "backup", "first", "--store", Store, "--include-namespaces", "shop");
        Assert.True(code == 0, stderr);
        var copyStore = _dir.Combine("copy");

        var (future, futureOut, futureErr) = await CliRunner.RunAsync("resources", "copy", "--from", Store, "--to", copyStore, "--since", "2099-01-01T00:00:00Z");
        Assert.True(future == 0, futureErr);
        Assert.Contains("copied 0 resource backup object(s)", futureOut, StringComparison.Ordinal);

        var (copy, copyOut, copyErr) = await CliRunner.RunAsync("resources", "copy", "--from", Store, "--to", copyStore, "--parallel", "2");
        Assert.True(copy == 0, copyErr);
        Assert.Contains("copied 2 resource backup object(s)", copyOut, StringComparison.Ordinal);
        var (again, againOut, _) = await CliRunner.RunAsync("resources", "copy", "--from", Store, "--to", copyStore);
        Assert.Equal(0, again);
        Assert.Contains("copied 0 resource backup object(s)", againOut, StringComparison.Ordinal);
        Assert.Contains("; 2 already there", againOut, StringComparison.Ordinal);

        var (listCode, list, _) = await CliRunner.RunAsync("resources", "list", "--store", copyStore);
        Assert.Equal(0, listCode);
        Assert.Matches(@"first\s+Completed\s+4\s", list);
        _server.Remove(KubeResource.ConfigMaps, "shop", "settings");
        var (restore, restoreOut, restoreErr) = await RunAsync("resources", "restore", "first", "--store", copyStore, "--name", "configmap/settings");
        Assert.True(restore == 0, restoreErr);
        Assert.Contains("1 created", restoreOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copy_ADamagedArchive_LeavesItsBackupUnlisted_AndReEncryptingIsRefused()
    {
        await using var s3 = await S3Server.StartAsync();
        Directory.CreateDirectory(_dir.Combine("creds"));
        await File.WriteAllTextAsync(_dir.Combine("creds", FileCredentials.AccessKeyFile), S3Server.AccessKey);
        await File.WriteAllTextAsync(_dir.Combine("creds", FileCredentials.SecretKeyFile), S3Server.SecretKey);
        string[] source = ["--from", $"s3://{S3Server.Bucket}/objects", "--s3-endpoint", s3.Endpoint.ToString(), "--s3-force-path-style",
            "--s3-credentials-dir", _dir.Combine("creds")];
        foreach (var name in new[] { "good", "bad" })
        {
            var (code, _, stderr) = await RunAsync(["resources", "backup", name, "--include-namespaces", "shop", "--store", $"s3://{S3Server.Bucket}/objects",
                "--s3-endpoint", s3.Endpoint.ToString(), "--s3-force-path-style", "--s3-credentials-dir", _dir.Combine("creds")]);
            Assert.True(code == 0, stderr);
        }

        // Damage in the bucket: the object's bytes change, its stored SHA-256 does not.
        var archive = Directory.EnumerateFiles(s3.DataDir, "*", SearchOption.AllDirectories)
            .Single(f => f.Contains("bad.tar.gz", StringComparison.Ordinal) && !f.EndsWith(".json", StringComparison.Ordinal) && new FileInfo(f).Length > 100);
        var bytes = await File.ReadAllBytesAsync(archive);
        bytes[^10] ^= 0xFF;
        await File.WriteAllBytesAsync(archive, bytes);
        var copyStore = _dir.Combine("copy");

        var (copy, copyOut, copyErr) = await CliRunner.RunAsync(["resources", "copy", .. source, "--to", copyStore]);

        Assert.Equal(ExitCodes.IntegrityError, copy);
        Assert.Contains("copied 2 resource backup object(s)", copyOut, StringComparison.Ordinal); // the good backup's archive and manifest
        Assert.Contains("bad.tar.gz", copyErr, StringComparison.Ordinal);
        Assert.Contains("not copied, since an object beside it was not", copyErr, StringComparison.Ordinal);
        var (_, list, _) = await CliRunner.RunAsync("resources", "list", "--store", copyStore);
        Assert.Contains("good", list, StringComparison.Ordinal);
        Assert.DoesNotContain("bad", list, StringComparison.Ordinal);

        var key = _dir.Combine("new.key");
        await File.WriteAllBytesAsync(key, RandomNumberGenerator.GetBytes(32));
        var (refused, _, refusedErr) = await CliRunner.RunAsync(["resources", "copy", .. source, "--to", _dir.Combine("other"), "--to-encryption-key-file", key]);
        Assert.Equal(ExitCodes.Usage, refused);
        Assert.Contains("does not re-encrypt", refusedErr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.Combine("other")));
    }

    [Fact]
    public async Task ScheduleRun_NamesBySlot_RetriesFindTheSlotsBackup()
    {
        string[] args = ["resources", "schedule", "run", "--schedule-name", "daily", "--cron", "@daily", "--store", Store, "--keep-last", "3", "--include-namespaces", "shop"];

        var (first, firstOut, firstErr) = await RunAsync(args);
        var (second, secondOut, _) = await RunAsync(args);

        Assert.True(first == 0, firstErr);
        Assert.Matches(@"took backup daily-\d{8}000000 \(Completed\)", firstOut);
        Assert.Equal(0, second);
        Assert.Contains("of this slot exists", secondOut, StringComparison.Ordinal);
        var (_, list, _) = await CliRunner.RunAsync("resources", "list", "--store", Store, "-o", "json");
        using var doc = JsonDocument.Parse(list);
        Assert.Equal("daily", doc.RootElement.EnumerateArray().Single().GetProperty("schedule").GetString());
    }
}
