using Lifeboat.Storage.S3;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>
/// <c>lifeboat etcd serve --mirror-store</c>: every snapshot also lands in a second store, which survives that store's
/// outage (the sidecar goes on, counts the failures, and catches the mirror up when it is back) and restores on its own.
/// </summary>
public sealed class SidecarMirrorTests : EtcdTest
{
    [Fact]
    public async Task EverySnapshotIsMirrored_AMirrorOutageIsSurvived_AndTheMirrorRestores()
    {
        await using var s3 = await S3Server.StartAsync();
        Directory.CreateDirectory(Dir.Combine("creds"));
        await File.WriteAllTextAsync(Dir.Combine("creds", FileCredentials.AccessKeyFile), S3Server.AccessKey);
        await File.WriteAllTextAsync(Dir.Combine("creds", FileCredentials.SecretKeyFile), S3Server.SecretKey);
        string[] mirrorAsStore = ["--store", $"s3://{S3Server.Bucket}/region-b", "--s3-endpoint", s3.Endpoint.ToString(), "--s3-force-path-style",
            "--s3-credentials-dir", Dir.Combine("creds")];
        using var client = Etcd.CreateClient();
        await client.PutAsync("/mirror/0", "first", default);

        using var sidecar = await RunningSidecar.StartReadyAsync("--endpoints", Etcd.ClientUrl.ToString(), "--store", Dir.Combine("store"), "--delta-period", "1s",
            "--mirror-store", $"s3://{S3Server.Bucket}/region-b", "--mirror-s3-endpoint", s3.Endpoint.ToString(), "--mirror-s3-force-path-style",
            "--mirror-s3-credentials-dir", Dir.Combine("creds"));
        var first = (await client.PutAsync("/mirror/1", "before the outage", default)).Header.Revision;
        await MirrorReachesAsync(s3, first, "the first writes to be mirrored");
        var metrics = await sidecar.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Matches(@"lifeboat_mirror_snapshots_total\{result=""copied""\} [2-9]", metrics);
        Assert.Contains("lifeboat_mirror_last_success_timestamp_seconds ", metrics, StringComparison.Ordinal);

        await s3.StopAsync();
        var during = (await client.PutAsync("/mirror/2", "during the outage", default)).Header.Revision;
        await SidecarProbe.WaitChainAsync(sidecar.Http, during, TimeSpan.FromSeconds(30), "the primary to go on while the mirror is down");
        await Eventually.SucceedsAsync(async ct =>
        {
            var m = await sidecar.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct);
            return System.Text.RegularExpressions.Regex.IsMatch(m, @"lifeboat_mirror_failures_total [1-9]") ? 0 : throw new InvalidOperationException("no mirror failure counted yet");
        }, TimeSpan.FromSeconds(60), "the mirror outage to be counted");
        Assert.False(sidecar.Run.IsCompleted);

        await s3.RestartAsync();
        await MirrorReachesAsync(s3, during, "the mirror to catch up after its outage");
        var dataDir = Dir.Combine("restored");
        var peer = $"http://127.0.0.1:{LoopbackPorts.Next()}";
        var (restore, restoreOut, restoreErr) = await CliRunner.RunAsync(["etcd", "restore", .. mirrorAsStore, "--data-dir", dataDir,
            "--name", "m", "--initial-cluster", $"m={peer}", "--initial-advertise-peer-urls", peer]);
        Assert.True(restore == 0, restoreErr);
        Assert.Matches(@"at revision \d+", restoreOut);
        var restoredAt = long.Parse(System.Text.RegularExpressions.Regex.Match(restoreOut, @"at revision (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(restoredAt >= during, $"the mirror restored revision {restoredAt}, before {during}");
    }

    /// <summary>Waits until the mirror's snapshots reach <paramref name="revision"/>.</summary>
    private static async Task MirrorReachesAsync(S3Server s3, long revision, string what) =>
        await Eventually.SucceedsAsync(async ct =>
        {
            using var store = S3Store.Open(s3.StoreOptions("region-b/"));
            var snapshots = await Lifeboat.Core.Snapshots.SnapshotCatalog.ListAsync(store, ct);
            var reach = snapshots.Count == 0 ? 0 : snapshots.Max(s => s.Name.LastRevision);
            return reach >= revision ? reach : throw new InvalidOperationException($"the mirror reaches {reach}, not yet {revision}");
        }, TimeSpan.FromSeconds(60), what);
}
