using System.Diagnostics.Metrics;
using Lifeboat.Cli.Hosting;

namespace Lifeboat.Cli.Tests.Hosting;

public sealed class PrometheusExporterTests
{
    [Fact]
    public void Render_CountersHistogramsAndGauges_InPrometheusTextFormat()
    {
        var prefix = $"Lifeboat.Test{Guid.NewGuid():N}";
        using var exporter = new PrometheusExporter(prefix);
        using var meter = new Meter(prefix);
        var snapshots = meter.CreateCounter<long>("lifeboat.snapshots", description: "Snapshots taken");
        var duration = meter.CreateHistogram<double>("lifeboat.snapshot.duration", unit: "s", description: "Snapshot duration");
        meter.CreateObservableGauge("lifeboat.delta.lag", () => 42L, unit: "{revision}", description: "Revisions not yet captured");
        using var other = new Meter("Unrelated.Meter");
        other.CreateCounter<long>("other.count").Add(5);

        snapshots.Add(1, new KeyValuePair<string, object?>("kind", "full"), new KeyValuePair<string, object?>("result", "success"));
        snapshots.Add(2, new KeyValuePair<string, object?>("kind", "full"), new KeyValuePair<string, object?>("result", "success"));
        snapshots.Add(1, new KeyValuePair<string, object?>("kind", "delta"), new KeyValuePair<string, object?>("result", "failure"));
        duration.Record(0.2, new KeyValuePair<string, object?>("kind", "full"));
        duration.Record(3, new KeyValuePair<string, object?>("kind", "full"));

        var text = exporter.Render();

        Assert.Contains("# TYPE lifeboat_snapshots_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshots_total{kind=\"full\",result=\"success\"} 3\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshots_total{kind=\"delta\",result=\"failure\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE lifeboat_snapshot_duration_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshot_duration_seconds_bucket{kind=\"full\",le=\"0.5\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshot_duration_seconds_bucket{kind=\"full\",le=\"5\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshot_duration_seconds_bucket{kind=\"full\",le=\"+Inf\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshot_duration_seconds_sum{kind=\"full\"} 3.2\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshot_duration_seconds_count{kind=\"full\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE lifeboat_delta_lag gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_delta_lag 42\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("other", text, StringComparison.Ordinal);
    }

    [Fact]
    public void SizeHistograms_UseByteBuckets_SoAFullSnapshotIsNotInfOnly()
    {
        var prefix = $"Lifeboat.Test{Guid.NewGuid():N}";
        using var exporter = new PrometheusExporter(prefix);
        using var meter = new Meter(prefix);
        var size = meter.CreateHistogram<double>("lifeboat.snapshot.size", unit: "By", description: "Stored size of a snapshot");

        size.Record(3L << 30, new KeyValuePair<string, object?>("kind", "full")); // a 3 GiB full snapshot
        size.Record(20_000, new KeyValuePair<string, object?>("kind", "delta"));

        var text = exporter.Render();

        Assert.Contains("lifeboat_snapshot_size_bytes_bucket{kind=\"full\",le=\"4294967296\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshot_size_bytes_bucket{kind=\"full\",le=\"1073741824\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("lifeboat_snapshot_size_bytes_bucket{kind=\"delta\",le=\"65536\"} 1\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("lifeboat_snapshot_size_bytes_bucket{kind=\"full\",le=\"0.5\"}", text, StringComparison.Ordinal);
    }
}
