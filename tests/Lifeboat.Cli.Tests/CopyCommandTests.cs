using System.Diagnostics;
using System.Security.Cryptography;
using Lifeboat.Storage.S3;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>
/// <c>lifeboat etcd snapshots copy</c> and <c>lifeboat resources copy</c> between real stores: a directory, s3rver, the
/// test GCS server. What the target holds is checked by restoring from it.
/// </summary>
public sealed class CopyCommandTests : EtcdTest
{
    private const string Bucket = "region-b";
    private S3Server _s3 = null!;
    private FakeGcsServer _gcs = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _s3 = await S3Server.StartAsync();
        _gcs = await FakeGcsServer.StartAsync(Bucket);
        Directory.CreateDirectory(Dir.Combine("creds"));
        await File.WriteAllTextAsync(Dir.Combine("creds", FileCredentials.AccessKeyFile), S3Server.AccessKey);
        await File.WriteAllTextAsync(Dir.Combine("creds", FileCredentials.SecretKeyFile), S3Server.SecretKey);
        await File.WriteAllTextAsync(Dir.Combine("gcs.json"), _gcs.CreateServiceAccountKey());
    }

    public override async Task DisposeAsync()
    {
        await _gcs.DisposeAsync();
        await _s3.DisposeAsync();
        await base.DisposeAsync();
    }

    private string Source => Dir.Combine("store");

    private string[] ToS3(string prefix = "mirror") =>
        ["--to", $"s3://{S3Server.Bucket}/{prefix}", "--to-s3-endpoint", _s3.Endpoint.ToString(), "--to-s3-force-path-style", "--to-s3-credentials-dir", Dir.Combine("creds")];

    private string[] S3Store(string prefix = "mirror") =>
        ["--store", $"s3://{S3Server.Bucket}/{prefix}", "--s3-endpoint", _s3.Endpoint.ToString(), "--s3-force-path-style", "--s3-credentials-dir", Dir.Combine("creds")];

    private string[] ToGcs() =>
        ["--to", $"gs://{Bucket}/mirror", $"--to-gcs-endpoint={_gcs.Endpoint}", "--to-gcs-credentials-file", Dir.Combine("gcs.json"), "--to-gcs-chunk-size-mib", "1"];

    private static string[] Member()
    {
        var peer = $"http://127.0.0.1:{LoopbackPorts.Next()}";
        return ["--name", "lifeboat-test", "--initial-cluster", $"lifeboat-test={peer}", "--initial-advertise-peer-urls", peer];
    }

    /// <summary>A full snapshot and <paramref name="deltas"/> deltas in the directory store; returns the last revision.</summary>
    private async Task<long> FillSourceAsync(int deltas, int valueBytes = 100)
    {
        using var client = Etcd.CreateClient();
        long last = 0;
        for (var i = 0; i < 20; i++)
        {
            last = (await client.PutAsync($"/copy/{i}", Convert.ToHexString(RandomNumberGenerator.GetBytes(valueBytes)), default)).Header.Revision;
        }

        var (full, _, fullErr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Etcd.ClientUrl.ToString(), "--store", Source);
        Assert.True(full == 0, fullErr);
        for (var d = 0; d < deltas; d++)
        {
            last = (await client.PutAsync($"/copy/d{d}", $"delta-{d}", default)).Header.Revision;
            var (delta, _, deltaErr) = await CliRunner.RunAsync("etcd", "snapshot", "delta", "--endpoints", Etcd.ClientUrl.ToString(), "--store", Source);
            Assert.True(delta == 0, deltaErr);
        }

        return last;
    }

    private async Task AssertRestoresAsync(string[] store, long revision, params string[] extra)
    {
        var dataDir = Dir.Combine($"restored-{Guid.NewGuid():N}");
        var (restore, restoreOut, restoreErr) = await CliRunner.RunAsync(["etcd", "restore", .. store, "--data-dir", dataDir, .. Member(), .. extra]);
        Assert.True(restore == 0, restoreErr);
        Assert.Contains($"at revision {revision}", restoreOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EtcdCopy_DirectoryToS3_CopiesTheChain_ThenOnlyWhatIsMissing_AndTheTargetRestores()
    {
        await FillSourceAsync(deltas: 2);

        var (code, stdout, stderr) = await CliRunner.RunAsync(["etcd", "snapshots", "copy", "--from", Source, .. ToS3()]);
        Assert.True(code == 0, stderr);
        Assert.Contains("copied 3 etcd snapshot(s)", stdout, StringComparison.Ordinal);
        Assert.Contains("; 0 already there", stdout, StringComparison.Ordinal);

        var last = await FillSourceAsync(deltas: 1); // a new full snapshot and one more delta
        var (again, againOut, againErr) = await CliRunner.RunAsync(["etcd", "snapshots", "copy", "--from", Source, .. ToS3(), "--parallel", "2"]);
        Assert.True(again == 0, againErr);
        Assert.Contains("copied 2 etcd snapshot(s)", againOut, StringComparison.Ordinal);
        Assert.Contains("; 3 already there", againOut, StringComparison.Ordinal);

        var (listed, list, _) = await CliRunner.RunAsync(["etcd", "snapshots", "list", .. S3Store(), "-o", "json"]);
        Assert.Equal(0, listed);
        Assert.Equal(5, System.Text.Json.JsonDocument.Parse(list).RootElement.GetProperty("snapshots").GetArrayLength());
        await AssertRestoresAsync(S3Store(), last);
    }

    [Fact]
    public async Task EtcdCopy_ReEncryptsWithTheTargetKey_AndAnEncryptedSourceCopiesWithoutKeys()
    {
        var last = await FillSourceAsync(deltas: 1);
        var key = Dir.Combine("region-b.key");
        await File.WriteAllBytesAsync(key, RandomNumberGenerator.GetBytes(32));
        var encrypted = Dir.Combine("encrypted");

        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "snapshots", "copy", "--from", Source, "--to", encrypted, "--to-encryption-key-file", key);
        Assert.True(code == 0, stderr);
        var files = Directory.GetFiles(Path.Combine(encrypted, "etcd"));
        Assert.Equal(2, files.Length);
        Assert.All(files, f => Assert.Contains(".enc-", Path.GetFileName(f), StringComparison.Ordinal));
        await AssertRestoresAsync(["--store", encrypted], last, "--encryption-key-file", key);

        // As stored: ciphertext to ciphertext, no key needed; the copy still restores with the key.
        var (raw, _, rawErr) = await CliRunner.RunAsync(["etcd", "snapshots", "copy", "--from", encrypted, .. ToGcs()]);
        Assert.True(raw == 0, rawErr);
        Assert.All(_gcs.ObjectNames(Bucket), n => Assert.Contains(".enc-", n, StringComparison.Ordinal));
        await AssertRestoresAsync(["--store", $"gs://{Bucket}/mirror", $"--gcs-endpoint={_gcs.Endpoint}", "--gcs-credentials-file", Dir.Combine("gcs.json")],
            last, "--encryption-key-file", key);
    }

    [Fact]
    public async Task EtcdCopy_ADamagedSourceSnapshot_IsNamed_NotLeftInTheTarget_AndTheRestIsCopied()
    {
        await FillSourceAsync(deltas: 2);
        var newestDelta = Directory.GetFiles(Path.Combine(Source, "etcd"), "delta-*").Order(StringComparer.Ordinal).Last();
        var bytes = await File.ReadAllBytesAsync(newestDelta);
        bytes[bytes.Length / 2] ^= 0x5A;
        await File.WriteAllBytesAsync(newestDelta, bytes);

        var (code, stdout, stderr) = await CliRunner.RunAsync("etcd", "snapshots", "copy", "--from", Source, "--to", Dir.Combine("target"));

        Assert.Equal(ExitCodes.IntegrityError, code);
        Assert.Contains("copied 2 etcd snapshot(s)", stdout, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(newestDelta), stderr, StringComparison.Ordinal);
        Assert.Contains("was removed from the target", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetFileName(newestDelta), Directory.GetFiles(Path.Combine(Dir.Combine("target"), "etcd")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task EtcdCopy_KilledMidway_LeavesOnlyWholeObjects_AndTheRerunCompletesIt()
    {
        var last = await FillSourceAsync(deltas: 6, valueBytes: 200_000); // a full snapshot of some megabytes, and deltas
        await LifeboatShim.WriteAsync(Dir.Path);
        var psi = Shell.StartInfo($"./lifeboat etcd snapshots copy --from '{Source}' --to 'gs://{Bucket}/mirror' --to-gcs-endpoint '{_gcs.Endpoint}' " +
            $"--to-gcs-credentials-file '{Dir.Combine("gcs.json")}' --to-gcs-chunk-size-mib 1", Dir.Path);
        using (var copy = Process.Start(psi)!)
        {
            // Killed as soon as the first upload is under way (SIGKILL: nothing runs on the way out).
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!_gcs.Requests.Any(r => r.StartsWith("PUT /upload/", StringComparison.Ordinal)) && DateTime.UtcNow < deadline && !copy.HasExited)
            {
                await Task.Delay(5);
            }

            foreach (var lifeboat in Processes.ChildrenOf(copy.Id).Where(p => Processes.CommandLine(p).Contains("lifeboat.dll", StringComparison.Ordinal)))
            {
                Process.GetProcessById(lifeboat).Kill();
            }

            copy.Kill();
            await copy.WaitForExitAsync();
        }

        var afterKill = _gcs.ObjectNames(Bucket);
        Assert.True(afterKill.Count < 7, "the copy was not interrupted");
        var (code, stdout, stderr) = await CliRunner.RunAsync(["etcd", "snapshots", "copy", "--from", Source, .. ToGcs()]);
        Assert.True(code == 0, stderr);
        Assert.Contains($"copied {7 - afterKill.Count(n => n.StartsWith("mirror/etcd/", StringComparison.Ordinal))} etcd snapshot(s)", stdout, StringComparison.Ordinal);
        await AssertRestoresAsync(["--store", $"gs://{Bucket}/mirror", $"--gcs-endpoint={_gcs.Endpoint}", "--gcs-credentials-file", Dir.Combine("gcs.json")], last);
    }

    [Fact]
    public async Task BadInput_IsOneLine_AndNothingIsCreated()
    {
        var (same, _, sameErr) = await CliRunner.RunAsync("etcd", "snapshots", "copy", "--from", Source, "--to", Source);
        Assert.Equal(ExitCodes.Usage, same);
        Assert.Contains("the same store", sameErr, StringComparison.Ordinal);

        var (noTarget, _, noTargetErr) = await CliRunner.RunAsync("etcd", "snapshots", "copy", "--from", Source);
        Assert.Equal(ExitCodes.Usage, noTarget);
        Assert.Contains("pass --to", noTargetErr, StringComparison.Ordinal);

        var (missing, _, missingErr) = await CliRunner.RunAsync("etcd", "snapshots", "copy", "--from", Dir.Combine("absent"), "--to", Dir.Combine("new-target"));
        Assert.NotEqual(0, missing);
        Assert.Single(missingErr.Trim().Split('\n'));
        Assert.False(Directory.Exists(Dir.Combine("new-target")));
    }
}
