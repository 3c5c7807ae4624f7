using System.Security.Cryptography;
using Lifeboat.Etcd.Client;
using Lifeboat.Storage.S3;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>The etcd commands against a real S3 protocol server (s3rver), with gzip and client-side encryption.</summary>
public sealed class EtcdS3CommandTests : EtcdTest
{
    private S3Server _s3 = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _s3 = await S3Server.StartAsync();
        Directory.CreateDirectory(Dir.Combine("creds"));
        await File.WriteAllTextAsync(Dir.Combine("creds", FileCredentials.AccessKeyFile), S3Server.AccessKey + "\n");
        await File.WriteAllTextAsync(Dir.Combine("creds", FileCredentials.SecretKeyFile), S3Server.SecretKey + "\n");
    }

    public override async Task DisposeAsync()
    {
        await _s3.DisposeAsync();
        await base.DisposeAsync();
    }

    private string Endpoint => Etcd.ClientUrl.ToString();

    private string[] S3(string prefix = "cluster-a", string? creds = null) =>
        ["--store", $"s3://{S3Server.Bucket}/{prefix}", "--s3-endpoint", _s3.Endpoint.ToString(), "--s3-force-path-style",
         "--s3-credentials-dir", creds ?? Dir.Combine("creds")];

    private static string[] Member()
    {
        var peer = $"http://127.0.0.1:{LoopbackPorts.Next()}";
        return ["--name", "lifeboat-test", "--initial-cluster", $"lifeboat-test={peer}", "--initial-advertise-peer-urls", peer];
    }

    private string NewKeyFile(string name)
    {
        var path = Dir.Combine(name);
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(32));
        return path;
    }

    private static async Task<long> PutAsync(EtcdClient client, string key, string value) => (await client.PutAsync(key, value, default)).Header.Revision;

    private async Task<List<string>> ObjectKeysAsync(string prefix = "cluster-a/")
    {
        using var store = S3Store.Open(_s3.StoreOptions(prefix));
        return await store.ListAsync("", default).Select(o => o.Key).Order(StringComparer.Ordinal).ToListAsync();
    }

    [Fact]
    public async Task FullDeltaRestore_ThroughS3_GzipByDefault_Encrypted_WithKeyRotation_AndAWrongKeyRefusedBeforeTouchingTheDataDir()
    {
        using var client = Etcd.CreateClient();
        var oldKey = NewKeyFile("old.key");
        var newKey = NewKeyFile("new.key");
        for (var i = 0; i < 50; i++)
        {
            await PutAsync(client, $"/s3/{i}", new string('v', 500) + i);
        }

        var (full, _, fullErr) = await CliRunner.RunAsync(["etcd", "snapshot", "full", "--endpoints", Endpoint, .. S3(), "--encryption-key-file", oldKey]);
        Assert.True(full == 0, fullErr);
        await PutAsync(client, "/s3/after-full", "1");
        // Rotation: new snapshots use the new key; the old one stays for reading.
        var (delta, _, deltaErr) = await CliRunner.RunAsync(["etcd", "snapshot", "delta", "--endpoints", Endpoint, .. S3(),
            "--encryption-key-file", newKey, "--decryption-key-file", oldKey]);
        Assert.True(delta == 0, deltaErr);
        var last = await PutAsync(client, "/s3/last", "2");
        (delta, _, deltaErr) = await CliRunner.RunAsync(["etcd", "snapshot", "delta", "--endpoints", Endpoint, .. S3(), "--encryption-key-file", newKey,
            "--decryption-key-file", oldKey]);
        Assert.True(delta == 0, deltaErr);

        var keys = await ObjectKeysAsync();
        Assert.Equal(3, keys.Count);
        Assert.Matches(@"^etcd/full-0+-\d+-\d{8}T\d{6}Z-[0-9a-f]{16}\.db\.gz\.enc-[0-9a-f]{16}$", keys[^1]);
        Assert.All(keys.Where(k => k.Contains("/delta-", StringComparison.Ordinal)), k => Assert.Matches(@"\.delta\.gz\.enc-[0-9a-f]{16}$", k));
        Assert.NotEqual(keys[0][^16..], keys[^1][^16..]); // the deltas name the new key, the full snapshot the old one

        var dataDir = Dir.Combine("restored");
        var (onlyNew, _, onlyNewErr) = await CliRunner.RunAsync(["etcd", "restore", .. S3(), "--decryption-key-file", newKey, "--data-dir", dataDir, .. Member()]);
        Assert.Equal(ExitCodes.Refused, onlyNew);
        Assert.Contains("is encrypted with key", onlyNewErr, StringComparison.Ordinal);
        Assert.Contains("--decryption-key-file", onlyNewErr, StringComparison.Ordinal);
        Assert.Single(onlyNewErr.Trim().Split('\n'));
        Assert.False(Directory.Exists(dataDir));
        var (noKey, _, _) = await CliRunner.RunAsync(["etcd", "restore", .. S3(), "--data-dir", dataDir, .. Member()]);
        Assert.Equal(ExitCodes.Refused, noKey);
        Assert.False(Directory.Exists(dataDir));

        var (restore, restoreOut, restoreErr) = await CliRunner.RunAsync(["etcd", "restore", .. S3(), "--decryption-key-file", newKey,
            "--decryption-key-file", oldKey, "--data-dir", dataDir, .. Member()]);
        Assert.True(restore == 0, restoreErr);
        Assert.Contains($"at revision {last}", restoreOut, StringComparison.Ordinal);
        await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
        using var restoredClient = restored.CreateClient();
        Assert.Equal(last, (await restoredClient.StatusAsync(null, default)).Header.Revision);
        Assert.Equal(new string('v', 500) + "49", Assert.Single((await restoredClient.GetAsync("/s3/49", default)).Kvs).Value.ToStringUtf8());
        Assert.Equal("2", Assert.Single((await restoredClient.GetAsync("/s3/last", default)).Kvs).Value.ToStringUtf8());
    }

    [Fact]
    public async Task FullDeltaRestore_ThroughS3_WithZstd_RoundTrips()
    {
        using var client = Etcd.CreateClient();
        for (var i = 0; i < 30; i++)
        {
            await PutAsync(client, $"/z/{i}", new string('z', 1000) + i);
        }

        var (full, _, fullErr) = await CliRunner.RunAsync(["etcd", "snapshot", "full", "--endpoints", Endpoint, .. S3("zstd"), "--compression", "zstd"]);
        Assert.True(full == 0, fullErr);
        var last = await PutAsync(client, "/z/last", "after");
        var (delta, _, deltaErr) = await CliRunner.RunAsync(["etcd", "snapshot", "delta", "--endpoints", Endpoint, .. S3("zstd"), "--compression", "zstd"]);
        Assert.True(delta == 0, deltaErr);

        var keys = await ObjectKeysAsync("zstd/");
        Assert.Equal(2, keys.Count);
        Assert.All(keys, k => Assert.EndsWith(".zst", k, StringComparison.Ordinal));

        var dataDir = Dir.Combine("zstd-restored");
        var (restore, _, restoreErr) = await CliRunner.RunAsync(["etcd", "restore", .. S3("zstd"), "--data-dir", dataDir, .. Member()]);
        Assert.True(restore == 0, restoreErr);
        await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
        using var restoredClient = restored.CreateClient();
        Assert.Equal(last, (await restoredClient.StatusAsync(null, default)).Header.Revision);
        Assert.Equal(new string('z', 1000) + "29", Assert.Single((await restoredClient.GetAsync("/z/29", default)).Kvs).Value.ToStringUtf8());
        Assert.Equal("after", Assert.Single((await restoredClient.GetAsync("/z/last", default)).Kvs).Value.ToStringUtf8());
    }

    [Fact]
    public async Task Restore_ChainWithADeltaMissingFromTheBucket_NamesTheGap()
    {
        using var client = Etcd.CreateClient();
        await CliRunner.RunAsync(["etcd", "snapshot", "full", "--endpoints", Endpoint, .. S3()]);
        var ends = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            ends.Add(await PutAsync(client, $"/g/{i}", "v"));
            var (code, _, err) = await CliRunner.RunAsync(["etcd", "snapshot", "delta", "--endpoints", Endpoint, .. S3()]);
            Assert.True(code == 0, err);
        }

        var middle = (await ObjectKeysAsync()).Where(k => k.StartsWith("etcd/delta-", StringComparison.Ordinal)).ElementAt(1);
        using (var store = S3Store.Open(_s3.StoreOptions("cluster-a/")))
        {
            await store.DeleteAsync(middle, default);
        }

        var (restore, _, stderr) = await CliRunner.RunAsync(["etcd", "restore", .. S3(), "--data-dir", Dir.Combine("gap"), .. Member()]);

        Assert.Equal(ExitCodes.Refused, restore);
        Assert.Contains($"revision {ends[1]} is in no delta", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Dir.Combine("gap")));
    }

    [Fact]
    public async Task WrongCredentials_MissingBucket_BadLocation_AreOneLineStoreErrors()
    {
        Directory.CreateDirectory(Dir.Combine("bad-creds"));
        await File.WriteAllTextAsync(Dir.Combine("bad-creds", FileCredentials.AccessKeyFile), "NOTAKEY");
        await File.WriteAllTextAsync(Dir.Combine("bad-creds", FileCredentials.SecretKeyFile), "wrong-secret");

        var (denied, _, deniedErr) = await CliRunner.RunAsync(["etcd", "snapshot", "full", "--endpoints", Endpoint, .. S3(creds: Dir.Combine("bad-creds"))]);
        var (list, _, listErr) = await CliRunner.RunAsync(["etcd", "snapshots", "list", "--store", "s3://no-such-bucket/x", "--s3-endpoint", _s3.Endpoint.ToString(),
            "--s3-force-path-style", "--s3-credentials-dir", Dir.Combine("creds")]);
        var (bad, _, badErr) = await CliRunner.RunAsync(["etcd", "snapshots", "list", "--store", "s3://Bad_Bucket"]);

        Assert.Equal(ExitCodes.StoreError, denied);
        Assert.Contains("refused the credentials (InvalidAccessKeyId)", deniedErr, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-secret", deniedErr, StringComparison.Ordinal);
        Assert.Single(deniedErr.Trim().Split('\n'));
        Assert.Equal(ExitCodes.StoreError, list);
        Assert.Contains("bucket 'no-such-bucket' does not exist", listErr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.StoreError, bad);
        Assert.Contains("valid S3 bucket", badErr, StringComparison.Ordinal);
        Assert.Empty(await ObjectKeysAsync());
    }

    [Fact]
    public async Task SnapshotsList_ShowsEncryptionAndCompression()
    {
        using var client = Etcd.CreateClient();
        await PutAsync(client, "/l/a", "1");
        var key = NewKeyFile("k.key");
        await CliRunner.RunAsync(["etcd", "snapshot", "full", "--endpoints", Endpoint, .. S3(), "--encryption-key-file", key, "--compression", "none"]);

        var (code, stdout, stderr) = await CliRunner.RunAsync(["etcd", "snapshots", "list", .. S3(), "-o", "json"]);

        Assert.True(code == 0, stderr);
        Assert.Contains("\"encrypted\": true", stdout, StringComparison.Ordinal);
        Assert.Contains("\"compression\": \"none\"", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(await File.ReadAllBytesAsync(key)), stdout, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Serve_ToS3_Encrypted_WithABuffer_KeepsKeysAndSecretsOutOfConfigAndLogs_AndTheChainRestores()
    {
        using var client = Etcd.CreateClient();
        const string Passphrase = "a passphrase that must never be printed";
        var keyFile = Dir.Combine("phrase.key");
        await File.WriteAllTextAsync(keyFile, Passphrase + "\n");
        var keyId = Lifeboat.Storage.Encryption.EncryptionKey.Load(keyFile).Id;
        using var sidecar = await RunningSidecar.StartReadyAsync(["--endpoints", Endpoint, .. S3("sidecar"), "--encryption-key-file", keyFile,
            "--buffer-dir", Dir.Combine("buffer"), "--delta-period", "1s"]);
        var http = sidecar.Http;
        var last = 0L;
        for (var i = 0; i < 5; i++)
        {
            last = await PutAsync(client, $"/sidecar/{i}", "v");
        }

        await SidecarProbe.WaitChainAsync(http, last, TimeSpan.FromSeconds(30), "the chain to reach the last write");
        var config = await http.GetStringAsync("/config");
        var (code, stdout, stderr) = await sidecar.StopAsync();

        Assert.True(code == 0, stderr);
        Assert.Contains($"\"encryption-key-id\": \"{keyId}\"", config, StringComparison.Ordinal);
        Assert.Contains("files in", config, StringComparison.Ordinal);
        foreach (var secret in new[] { Passphrase, S3Server.SecretKey })
        {
            Assert.DoesNotContain(secret, config, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, stdout + stderr, StringComparison.Ordinal);
        }

        var keys = await ObjectKeysAsync("sidecar/");
        Assert.NotEmpty(keys);
        Assert.All(keys, k => Assert.EndsWith($".gz.enc-{keyId}", k, StringComparison.Ordinal));
        var dataDir = Dir.Combine("restored");
        var (restore, restoreOut, restoreErr) = await CliRunner.RunAsync(["etcd", "restore", .. S3("sidecar"), "--decryption-key-file", keyFile,
            "--data-dir", dataDir, "--to-revision", last.ToString(System.Globalization.CultureInfo.InvariantCulture), .. Member()]);
        Assert.True(restore == 0, restoreErr);
        Assert.Contains($"at revision {last}", restoreOut, StringComparison.Ordinal);
    }
}
