using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Lifeboat.Etcd.Client;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Testing;
using Lifeboat.Testing.Kube;

namespace Lifeboat.Cli.Tests.Docs;

/// <summary>
/// Where the docs' command lines run: a working directory with <c>lifeboat</c> (the built CLI, on PATH and as
/// <c>./lifeboat</c>), a real etcd serving TLS and plain http, s3rver with the docs' buckets, and the test Kubernetes API
/// server with its simulated controllers, named by <c>KUBECONFIG</c>. The docs' placeholders become these: absolute paths
/// move under the sandbox's root, endpoints and ports point at the servers, and example names (a revision, a time, a
/// snapshot file, a VolumeSnapshot) become ones that exist. Files a flag needs (keys, a token, certificates, S3
/// credentials) are created where the command names them, as an operator would have them.
/// </summary>
internal sealed partial class DocSandbox : IAsyncDisposable
{
    public static readonly string[] Buckets = ["backups", "my-backups"];

    private readonly TempDirectory _dir = new("lifeboat-docs");
    private readonly TestCertificates _tls = new();
    private EtcdServer _etcd = null!;
    private S3Server _s3 = null!;
    private AzuriteServer _azurite = null!;
    private FakeGcsServer _gcs = null!;
    private TestApiServer _kube = null!;
    private ClusterSimulator _cluster = null!;
    private EtcdClient _client = null!;
    private readonly int _apiPort = LoopbackPorts.Next();
    private string? _lastStore;
    private int _writes;

    public string WorkDir => _dir.Combine("work");

    private string RootDir => _dir.Combine("root");

    public static async Task<DocSandbox> StartAsync()
    {
        var sandbox = new DocSandbox();
        try
        {
            await sandbox.InitializeAsync();
            return sandbox;
        }
        catch
        {
            await sandbox.DisposeAsync();
            throw;
        }
    }

    private async Task InitializeAsync()
    {
        Directory.CreateDirectory(WorkDir);
        Directory.CreateDirectory(RootDir);
        await LifeboatShim.WriteAsync(WorkDir);

        _etcd = await EtcdServer.StartAsync(_tls, plainPort: true);
        _client = _etcd.CreateClient(_tls);
        await WriteSampleDataAsync(20);
        _s3 = await S3Server.StartAsync(Buckets);
        _azurite = await AzuriteServer.StartAsync(Buckets);
        _gcs = await FakeGcsServer.StartAsync(Buckets);

        _kube = await TestApiServer.StartAsync();
        _kube.CrdEstablishDelay = TimeSpan.Zero;
        _cluster = ClusterSimulator.Start(_kube);
        _kube.CreateNamespace("shop");
        var claim = _cluster.AddClaim("shop", "postgres-data", data: "orders-v1");
        _kube.Mutate(KubeResource.PersistentVolumeClaims, "shop", "postgres-data",
            c => c["metadata"]!.AsObject()["labels"] = new JsonObject { ["lifeboat.io/backup"] = "hourly" });
        _ = claim;
        _cluster.AddDeployment("shop", "postgres", "postgres-data");
        _kube.Seed(KubeResource.ConfigMaps, JsonNode.Parse("""{"metadata":{"name":"settings","namespace":"shop"},"data":{"color":"blue"}}""")!.AsObject());
        _kube.Seed(KubeResource.Deployments, JsonNode.Parse(
            """{"metadata":{"name":"web","namespace":"shop"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx"}]}}}}""")!.AsObject());
        await File.WriteAllTextAsync(Path.Combine(WorkDir, "kubeconfig"), _kube.Kubeconfig(TestApiServer.AdminToken, "default"));
    }

    /// <summary>The environment every command line gets: where the servers are, and lifeboat on PATH.</summary>
    public Dictionary<string, string?> Environment() => new()
    {
        ["PATH"] = WorkDir + ":" + System.Environment.GetEnvironmentVariable("PATH"),
        ["KUBECONFIG"] = Path.Combine(WorkDir, "kubeconfig"),
        ["LIFEBOAT_ENDPOINTS"] = _etcd.PlainClientUrl!.ToString().TrimEnd('/'),
        ["LIFEBOAT_LISTEN"] = $"127.0.0.1:{_apiPort}",
        ["LIFEBOAT_S3_ENDPOINT"] = _s3.Endpoint.ToString().TrimEnd('/'),
        ["LIFEBOAT_S3_FORCE_PATH_STYLE"] = "true",
        ["AWS_ACCESS_KEY_ID"] = S3Server.AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = S3Server.SecretKey,
        ["AWS_REGION"] = "us-east-1",
        ["LIFEBOAT_AZURE_ENDPOINT"] = _azurite.ServiceUri.ToString(),
        ["LIFEBOAT_GCS_ENDPOINT"] = _gcs.Endpoint.ToString(),
        ["ETCDCTL_API"] = "3",
        ["LIFEBOAT_STORE"] = null,
        ["TERM"] = "dumb",
    };

    /// <summary>Some writes, so that every snapshot and delta has something new to hold.</summary>
    public async Task WriteSampleDataAsync(int count = 3)
    {
        for (var i = 0; i < count; i++)
        {
            _writes++;
            await _client.PutAsync($"/registry/configmaps/shop/doc-{_writes}", $"{{\"n\":{_writes}}}", CancellationToken.None);
        }
    }

    [GeneratedRegex(@"(?<=^|[\s=])(?<scheme>file://)?(?<path>/[A-Za-z][^\s,]*)")]
    private static partial Regex AbsolutePath();

    [GeneratedRegex(@"(?<dir>\S*/)?full-\d{12}-\d{12}-\d{8}T\d{6}Z(-[0-9a-f]{16})?\.db\b")]
    private static partial Regex FullSnapshotFile();

    [GeneratedRegex(@"postgres-data-hourly-\d{12}")]
    private static partial Regex ScheduledSnapshotName();

    [GeneratedRegex(@"--(?:store|from)\s+(?<store>\S+)")]
    private static partial Regex StoreFlag();

    /// <summary>The command line with the docs' placeholders made real, and the files its flags need created.</summary>
    public async Task<string> PrepareAsync(string text)
    {
        // Absolute paths first, so that nothing inserted below is moved again.
        var line = AbsolutePath().Replace(text, m => m.Groups["scheme"].Value + RootDir + m.Groups["path"].Value);
        // Before "123456" below. A path names the file in that directory; a bare name (a store key) is the newest full
        // snapshot of the line's --store, by name.
        line = FullSnapshotFile().Replace(line, m => m.Groups["dir"].Success
            ? NewestFullSnapshot(m.Groups["dir"].Value)
            : Path.GetFileName(NewestFullSnapshot(Path.Combine(StoreFlag().Match(line).Groups["store"].Value.Replace("file://", "", StringComparison.Ordinal), "etcd") + "/")));
        var tlsUrl = _etcd.ClientUrl.ToString().TrimEnd('/');
        var plainUrl = _etcd.PlainClientUrl!.ToString().TrimEnd('/');
        var s3 = _s3.Endpoint.ToString().TrimEnd('/');
        line = line
            .Replace("https://127.0.0.1:2379", tlsUrl, StringComparison.Ordinal)
            .Replace("https://etcd-0:2379", tlsUrl, StringComparison.Ordinal)
            .Replace("https://etcd-1:2379", tlsUrl, StringComparison.Ordinal)
            .Replace("http://127.0.0.1:2379", plainUrl, StringComparison.Ordinal)
            .Replace("127.0.0.1:8080", $"127.0.0.1:{_apiPort}", StringComparison.Ordinal)
            .Replace("https://minio.example:9000", s3, StringComparison.Ordinal)
            .Replace("https://minio:9000", s3, StringComparison.Ordinal);
        var localStore = StoreFlag().Match(line) is { Success: true } given && given.Groups["store"].Value is var value && (!value.Contains("://", StringComparison.Ordinal) || value.StartsWith("file://", StringComparison.Ordinal))
            ? value.Replace("file://", "", StringComparison.Ordinal)
            : null;
        if (localStore is not null && !Directory.Exists(localStore) && Regex.IsMatch(line, @"\betcd (restore|init|snapshots)\b"))
        {
            // The docs read a store that "the sidecar writes": here nothing has yet, so write one the same way first.
            await FillStoreAsync(localStore);
        }

        if (line.Contains("123456", StringComparison.Ordinal))
        {
            // "exactly a revision": the newest revision the store can restore (etcd's own is usually past it).
            var revision = localStore is null ? (await _client.StatusAsync(null, CancellationToken.None)).Header.Revision : NewestStoredRevision(localStore);
            line = line.Replace("123456", revision.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }

        if (line.Contains("2026-11-21T09:30:00Z", StringComparison.Ordinal))
        {
            // "a point in time": the time of the store's newest snapshot, a point it can restore.
            var time = localStore is null ? DateTimeOffset.UtcNow : NewestStoredTime(localStore);
            line = line.Replace("2026-11-21T09:30:00Z", time.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }

        line = ScheduledSnapshotName().Replace(line, _ => NewestScheduledSnapshot());
        if (StoreFlag().Match(line) is { Success: true } store && store.Groups["store"].Value != "...")
        {
            _lastStore = store.Groups["store"].Value;
        }

        line = line.Replace("--store ...", $"--store {_lastStore}", StringComparison.Ordinal);
        await CreateFilesNamedByAsync(line);
        return line;
    }

    private async Task FillStoreAsync(string store)
    {
        foreach (var kind in new[] { "full", "delta" })
        {
            await WriteSampleDataAsync();
            var result = await Shell.RunAsync($"lifeboat etcd snapshot {kind} --store {store}", WorkDir, Environment());
            Assert.True(result.ExitCode == 0, $"filling {store} for the docs: {result}");
        }
    }

    private static long NewestStoredRevision(string store) =>
        Directory.EnumerateFiles(Path.Combine(store, "etcd"))
            .Select(f => Regex.Match(Path.GetFileName(f), @"^(?:full|delta)-\d{12}-(\d{12})-"))
            .Where(m => m.Success)
            .Max(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

    private static DateTimeOffset NewestStoredTime(string store) =>
        Directory.EnumerateFiles(Path.Combine(store, "etcd"))
            .Select(f => Regex.Match(Path.GetFileName(f), @"^(?:full|delta)-\d{12}-\d{12}-(\d{8}T\d{6}Z)"))
            .Where(m => m.Success)
            .Max(m => DateTimeOffset.ParseExact(m.Groups[1].Value, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal));

    private static string NewestFullSnapshot(string directory)
    {
        var newest = Directory.EnumerateFiles(directory, "full-*.db").Order(StringComparer.Ordinal).LastOrDefault();
        Assert.True(newest is not null, $"the docs restore a full snapshot from {directory}, and no uncompressed one is there");
        return newest;
    }

    private string NewestScheduledSnapshot()
    {
        var name = _kube.All(KubeResource.VolumeSnapshots, "shop")
            .Select(s => s["metadata"]!["name"]!.GetValue<string>())
            .Where(n => n.StartsWith("postgres-data-hourly-", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).LastOrDefault();
        Assert.True(name is not null, "the docs restore a scheduled VolumeSnapshot of postgres-data, and the schedule made none");
        return name;
    }

    private async Task CreateFilesNamedByAsync(string line)
    {
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i + 1 < words.Length; i++)
        {
            var path = Path.IsPathRooted(words[i + 1]) ? words[i + 1] : Path.Combine(WorkDir, words[i + 1]);
            switch (words[i])
            {
                case "--encryption-key-file" or "--decryption-key-file" or "--to-encryption-key-file" when !File.Exists(path):
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    await File.WriteAllBytesAsync(path, RandomNumberGenerator.GetBytes(32));
                    break;
                case "--api-token-file" or "--password-file" when !File.Exists(path):
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    await File.WriteAllTextAsync(path, Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
                    break;
                case "--s3-credentials-dir" or "--to-s3-credentials-dir" or "--mirror-s3-credentials-dir" when !Directory.Exists(path):
                    Directory.CreateDirectory(path);
                    await File.WriteAllTextAsync(Path.Combine(path, "accessKeyID"), S3Server.AccessKey);
                    await File.WriteAllTextAsync(Path.Combine(path, "secretAccessKey"), S3Server.SecretKey);
                    break;
                case "--azure-credentials-dir" or "--to-azure-credentials-dir" when !Directory.Exists(path):
                    // The docs' Secret, holding Azurite's account and key.
                    Directory.CreateDirectory(path);
                    await File.WriteAllTextAsync(Path.Combine(path, "storageAccount"), AzuriteServer.Account);
                    await File.WriteAllTextAsync(Path.Combine(path, "storageKey"), AzuriteServer.AccountKey);
                    break;
                case "--gcs-credentials-file" or "--to-gcs-credentials-file" when !File.Exists(path):
                    // The docs' Secret, holding a key the test GCS server trusts.
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    await File.WriteAllTextAsync(path, _gcs.CreateServiceAccountKey());
                    break;
                case "--cacert" when !File.Exists(path):
                    File.Copy(_tls.CaCertFile, path);
                    break;
                case "--cert" when !File.Exists(path):
                    File.Copy(_tls.ClientCertFile, path);
                    break;
                case "--key" when !File.Exists(path):
                    File.Copy(_tls.ClientKeyFile, path);
                    break;
            }
        }
    }

    /// <summary>
    /// A command that runs until stopped (<c>etcd serve</c>): started, required to become healthy and ready on its API,
    /// then stopped with SIGTERM as Kubernetes stops it; returns how it ended.
    /// </summary>
    public async Task<Shell.Result> RunUntilReadyThenStopAsync(string line)
    {
        var listen = Regex.Match(line, @"--listen[ =](\S+)") is { Success: true } m ? m.Groups[1].Value : $"127.0.0.1:{_apiPort}";
        using var process = Process.Start(Shell.StartInfo("exec " + line, WorkDir, Environment()))!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{listen}"), Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            await Eventually.SucceedsAsync(async ct =>
            {
                Assert.False(process.HasExited, "it exited before it was ready");
                using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative), ct);
                return ready.IsSuccessStatusCode ? true : throw new InvalidOperationException($"/readyz answered {(int)ready.StatusCode}");
            }, TimeSpan.FromSeconds(90), $"{line} to become ready");
            await WriteSampleDataAsync();
        }
        finally
        {
            if (!process.HasExited)
            {
                using var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
                await term!.WaitForExitAsync();
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(cts.Token);
        }

        return new Shell.Result(process.ExitCode, await stdout, await stderr);
    }

    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        if (_kube is not null)
        {
            await _kube.DisposeAsync();
        }

        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }

        if (_gcs is not null)
        {
            await _gcs.DisposeAsync();
        }

        if (_s3 is not null)
        {
            await _s3.DisposeAsync();
        }

        if (_etcd is not null)
        {
            await _etcd.DisposeAsync();
        }

        _tls.Dispose();
        _dir.Dispose();
    }
}
