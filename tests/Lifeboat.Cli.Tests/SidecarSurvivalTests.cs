using System.Text.Json;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>
/// The sidecar never stops on its own: a store that is down when it starts (and when a term begins, the chain is
/// checked) is retried with backoff, visible on /readyz, /snapshots/latest and the metrics, and backing up resumes
/// when the store is back; the last error clears with the next success.
/// </summary>
public sealed class SidecarSurvivalTests : EtcdTest
{
    [Fact]
    public async Task StoreDownAtStart_IsRetried_NotFatal_AndBackupsResumeWhenItIsBack()
    {
        await using var s3 = await S3Server.StartAsync();
        Directory.CreateDirectory(Dir.Combine("creds"));
        await File.WriteAllTextAsync(Dir.Combine("creds", "accessKeyID"), S3Server.AccessKey);
        await File.WriteAllTextAsync(Dir.Combine("creds", "secretAccessKey"), S3Server.SecretKey);
        await s3.StopAsync();

        using var sidecar = RunningSidecar.Start("--endpoints", Etcd.ClientUrl.ToString(), "--store", $"s3://{S3Server.Bucket}/survival",
            "--s3-endpoint", s3.Endpoint.ToString(), "--s3-force-path-style", "--s3-credentials-dir", Dir.Combine("creds"), "--delta-period", "1m"); // deltas only when asked: no periodic flush races the requests below
        var failed = await Eventually.SucceedsAsync(async ct =>
        {
            Assert.False(sidecar.Run.IsCompleted, "the sidecar exited while the store was down: " + (sidecar.Run.IsCompleted ? (await sidecar.Run).Stderr : ""));
            var latest = await SidecarProbe.LatestAsync(sidecar.Http, ct);
            return latest.GetProperty("lastError").ValueKind == JsonValueKind.String ? latest : throw new InvalidOperationException("no error yet");
        }, TimeSpan.FromSeconds(30), "the store outage to show");
        Assert.False((await sidecar.Http.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode);
        var metrics = await sidecar.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Matches(@"lifeboat_sidecar_term_failures_total [1-9]", metrics);
        Assert.False(sidecar.Run.IsCompleted);
        _ = failed;

        await s3.RestartAsync();
        using var client = Etcd.CreateClient();
        var revision = (await client.PutAsync("/survival/after", "1", default)).Header.Revision;
        await Eventually.SucceedsAsync(async ct =>
        {
            var latest = await SidecarProbe.LatestAsync(sidecar.Http, ct);
            return latest.GetProperty("lastError").ValueKind == JsonValueKind.Null && latest.GetProperty("full").ValueKind == JsonValueKind.Object
                ? 0 : throw new InvalidOperationException(latest.ToString());
        }, TimeSpan.FromSeconds(90), "the full snapshot once the store is back, and the error to clear");
        await SidecarProbe.WaitChainAsync(sidecar.Http, revision, TimeSpan.FromSeconds(30), "the write after the outage to be captured");

        // An outage while deltas flow: a delta asked for over the API answers (503 with the cause), never hangs, and
        // once the store is back the next one is stored and the error is gone.
        await s3.StopAsync();
        var during = (await client.PutAsync("/survival/during", "2", default)).Header.Revision;
        // Captured (in memory) first: only then does the flush have something to write, and so meet the outage.
        await SidecarProbe.WaitChainAsync(sidecar.Http, during, TimeSpan.FromSeconds(30), "the write during the outage to be captured");
        var started = System.Diagnostics.Stopwatch.StartNew();
        using (var first = await sidecar.Http.PostAsync(new Uri("/snapshots/delta", UriKind.Relative), null))
        {
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, first.StatusCode);
            Assert.Contains("\"error\"", await first.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.True(started.Elapsed < TimeSpan.FromSeconds(150), $"POST /snapshots/delta took {started.Elapsed}");

        // Asked again at once, while the capture waits out its backoff: answered at once too (this one used to hang for good).
        started.Restart();
        using (var again = await sidecar.Http.PostAsync(new Uri("/snapshots/delta", UriKind.Relative), null))
        {
            // 503 while the capture waits out its backoff; if the backoff already ended, the new capture may not have
            // replayed the change yet and has nothing to write (200, no delta). Never a stored delta: the store is down.
            var body = await again.Content.ReadAsStringAsync();
            Assert.True(again.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable
                || (again.StatusCode == System.Net.HttpStatusCode.OK && body.Contains("\"delta\": null", StringComparison.Ordinal)), $"{again.StatusCode}: {body}");
        }

        Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), $"the second POST /snapshots/delta took {started.Elapsed}");
        await s3.RestartAsync();
        await Eventually.SucceedsAsync(async ct =>
        {
            using var after = await sidecar.Http.PostAsync(new Uri("/snapshots/delta", UriKind.Relative), null, ct);
            after.EnsureSuccessStatusCode();
            var latest = await SidecarProbe.LatestAsync(sidecar.Http, ct);
            return latest.GetProperty("lastError").ValueKind == JsonValueKind.Null ? 0 : throw new InvalidOperationException(latest.ToString());
        }, TimeSpan.FromSeconds(90), "deltas to be stored again and the error to clear");

        var (code, _, stderr) = await sidecar.StopAsync();
        Assert.True(code == 0, stderr);
    }
}
