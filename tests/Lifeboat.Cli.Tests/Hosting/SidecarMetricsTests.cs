using Lifeboat.Cli.Hosting;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests.Hosting;

/// <summary>
/// The sidecar's metrics as /metrics renders them (prometheus-net, text format 0.0.4): the names, types, labels and
/// buckets docs/metrics.md lists, and each sidecar in a registry of its own.
/// </summary>
public sealed class SidecarMetricsTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-12-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task CountersHistogramsAndGauges_InPrometheusTextFormat()
    {
        var time = new ManualTimeProvider(T0);
        var state = new SidecarState(time);
        state.Etcd(142);
        state.Reach(100);
        var metrics = new SidecarMetrics(state, time);
        metrics.Snapshot("full", success: true, TimeSpan.FromSeconds(0.2), 3L << 30);
        metrics.Snapshot("full", success: true, TimeSpan.FromSeconds(3), 1000);
        metrics.Snapshot("delta", success: false, TimeSpan.Zero, 0);
        metrics.Events(7);

        var text = await metrics.RenderAsync(default);

        Assert.Contains("# TYPE lifeboat_snapshots_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshots_total{kind=\"full\",result=\"success\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshots_total{kind=\"delta\",result=\"failure\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE lifeboat_snapshot_duration_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshot_duration_seconds_bucket{kind=\"full\",le=\"0.5\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshot_duration_seconds_bucket{kind=\"full\",le=\"+Inf\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshot_duration_seconds_count{kind=\"full\"} 2\n", text, StringComparison.Ordinal);
        // Sizes on byte buckets: a 3 GiB full snapshot lands in the 4 GiB bucket, not only in +Inf.
        Assert.Contains("lifeboat_snapshot_size_bytes_bucket{kind=\"full\",le=\"4294967296\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshot_size_bytes_bucket{kind=\"full\",le=\"1024\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_delta_events_total 7\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE lifeboat_delta_lag gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_delta_lag 42\n", text, StringComparison.Ordinal); // read from the state at scrape time
        Assert.DoesNotContain("\nlifeboat_snapshot_verified ", text, StringComparison.Ordinal); // unknown until a read-back

        metrics.Verified(ok: true);
        state.Reach(142);
        var later = await metrics.RenderAsync(default);
        Assert.Contains("lifeboat_snapshot_verified 1\n", later, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshot_verifications_total{result=\"ok\"} 1\n", later, StringComparison.Ordinal);
        Assert.Contains("lifeboat_delta_lag 0\n", later, StringComparison.Ordinal);

        var other = new SidecarMetrics(new SidecarState(time), time); // a second sidecar in the same process
        Assert.DoesNotContain("lifeboat_delta_events_total 7", await other.RenderAsync(default), StringComparison.Ordinal);
    }
}
