using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>
/// The etcd commands against Google Cloud Storage as the test server of its JSON API serves it, with a service
/// account's JSON key file as a mounted Secret provides it.
/// </summary>
public sealed class EtcdGcsCommandTests : EtcdTest
{
    private const string Bucket = "shoot-backups";
    private FakeGcsServer _gcs = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _gcs = await FakeGcsServer.StartAsync(Bucket);
        await File.WriteAllTextAsync(Dir.Combine("serviceaccount.json"), _gcs.CreateServiceAccountKey());
    }

    public override async Task DisposeAsync()
    {
        await _gcs.DisposeAsync();
        await base.DisposeAsync();
    }

    private string[] Store(string prefix) =>
        ["--store", $"gs://{Bucket}/{prefix}", $"--gcs-endpoint={_gcs.Endpoint}", "--gcs-credentials-file", Dir.Combine("serviceaccount.json"), "--gcs-chunk-size-mib", "1"];

    [Fact]
    public async Task FullDeltaVerifyRestore_ThroughGcs_GzipByDefault()
    {
        var store = Store("cluster-a");
        using var client = Etcd.CreateClient();
        var values = new List<string>();
        for (var i = 0; i < 800; i++)
        {
            values.Add(Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(2000)));
            await client.PutAsync($"/gcs/{i}", values[i], default); // a full snapshot of more than one chunk, even gzipped
        }

        var (full, _, fullErr) = await CliRunner.RunAsync(["etcd", "snapshot", "full", "--endpoints", Etcd.ClientUrl.ToString(), .. store]);
        Assert.True(full == 0, fullErr);
        var last = (await client.PutAsync("/gcs/last", "2", default)).Header.Revision;
        var (delta, _, deltaErr) = await CliRunner.RunAsync(["etcd", "snapshot", "delta", "--endpoints", Etcd.ClientUrl.ToString(), .. store]);
        Assert.True(delta == 0, deltaErr);

        Assert.Contains(_gcs.Requests, r => r.Contains("/compose?", StringComparison.Ordinal)); // the resumable path
        var names = _gcs.ObjectNames(Bucket);
        Assert.Equal(2, names.Count);
        Assert.Contains(names, n => n.StartsWith("cluster-a/", StringComparison.Ordinal) && n.EndsWith(".db.gz", StringComparison.Ordinal));
        Assert.Contains(names, n => n.EndsWith(".delta.gz", StringComparison.Ordinal));
        var (verify, _, verifyErr) = await CliRunner.RunAsync(["etcd", "snapshots", "verify", .. store]);
        Assert.True(verify == 0, verifyErr);

        var peer = $"http://127.0.0.1:{LoopbackPorts.Next()}";
        var dataDir = Dir.Combine("restored");
        var (restore, restoreOut, restoreErr) = await CliRunner.RunAsync(["etcd", "restore", .. store, "--data-dir", dataDir,
            "--name", "lifeboat-test", "--initial-cluster", $"lifeboat-test={peer}", "--initial-advertise-peer-urls", peer]);
        Assert.True(restore == 0, restoreErr);
        Assert.Contains($"at revision {last}", restoreOut, StringComparison.Ordinal);
        await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
        using var restoredClient = restored.CreateClient();
        Assert.Equal(values[799], Assert.Single((await restoredClient.GetAsync("/gcs/799", default)).Kvs).Value.ToStringUtf8());
    }

    [Fact]
    public async Task BadInput_IsOneLine_AndNothingIsWritten()
    {
        var (bad, _, badErr) = await CliRunner.RunAsync(["etcd", "snapshot", "full", "--endpoints", Etcd.ClientUrl.ToString(), "--store", "gs://No_Such/x"]);
        Assert.NotEqual(0, bad);
        Assert.Contains("does not name a valid GCS bucket", badErr, StringComparison.Ordinal);
        Assert.Single(badErr.Trim().Split('\n'));

        await File.WriteAllTextAsync(Dir.Combine("user.json"), """{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}""");
        string[] wrongKey = ["--store", $"gs://{Bucket}/x", "--gcs-endpoint", _gcs.Endpoint.ToString(), "--gcs-credentials-file", Dir.Combine("user.json")];
        var (refused, _, refusedErr) = await CliRunner.RunAsync(["etcd", "snapshot", "full", "--endpoints", Etcd.ClientUrl.ToString(), .. wrongKey]);
        Assert.NotEqual(0, refused);
        Assert.Contains("is not a service account's JSON key", refusedErr, StringComparison.Ordinal);
        Assert.Single(refusedErr.Trim().Split('\n'));
        Assert.Empty(_gcs.ObjectNames(Bucket));
        Assert.Equal(0, _gcs.OpenSessions);
    }
}
