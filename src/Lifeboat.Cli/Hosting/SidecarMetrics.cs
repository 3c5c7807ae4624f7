using Prometheus;

namespace Lifeboat.Cli.Hosting;

/// <summary>
/// The sidecar's metrics, <c>lifeboat_*</c> on /metrics, in a registry of its own (prometheus-net): several sidecars
/// in one process (tests run several) never share a series. Names, types, labels and buckets are those docs/metrics.md
/// lists. Gauges that describe the sidecar's state are read from it when Prometheus scrapes.
/// </summary>
/// <remarks>
/// prometheus-net's own metric types, not its adapter for System.Diagnostics.Metrics: the adapter exports .NET
/// counters as gauges and lets idle series expire, and both would break the <c>_total</c> counters and the alert rules.
/// </remarks>
internal sealed class SidecarMetrics
{
    private static readonly double[] SecondsBuckets = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    /// <summary>Sizes from 1 KiB to 64 GiB, by powers of four: a delta of a few KiB and a full snapshot of GiBs each land in a bucket.</summary>
    private static readonly double[] ByteBuckets = [.. Enumerable.Range(0, 14).Select(i => Math.Pow(4, i) * 1024)];

    private readonly MetricFactory _factory;
    private readonly Counter _snapshots;
    private readonly Histogram _duration;
    private readonly Histogram _size;
    private readonly Counter _events;
    private readonly Counter _deletions;
    private readonly Counter _verifications;
    private readonly Counter _termFailures;
    private readonly Counter _carried;
    private readonly Gauge _verified;
    private readonly Counter _mirrored;
    private readonly Counter _mirrorFailures;
    private readonly Gauge _mirrorLastSuccess;

    public SidecarMetrics(SidecarState state, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(time);
        _factory = Metrics.WithCustomRegistry(Registry);
        _snapshots = _factory.CreateCounter("lifeboat_snapshots_total", "Snapshots attempted, by kind and result", ["kind", "result"]);
        _duration = _factory.CreateHistogram("lifeboat_snapshot_duration_seconds", "Time to take and store a snapshot",
            new HistogramConfiguration { LabelNames = ["kind"], Buckets = SecondsBuckets });
        _size = _factory.CreateHistogram("lifeboat_snapshot_size_bytes", "Stored size of a snapshot",
            new HistogramConfiguration { LabelNames = ["kind"], Buckets = ByteBuckets });
        _events = _factory.CreateCounter("lifeboat_delta_events_total", "Key changes captured into deltas");
        _deletions = _factory.CreateCounter("lifeboat_retention_deletions_total", "Snapshots deleted by retention");
        _termFailures = _factory.CreateCounter("lifeboat_sidecar_term_failures_total",
            "Times the sidecar's work failed as a whole and was started again after a backoff");
        _carried = _factory.CreateCounter("lifeboat_delta_carried_revisions_total",
            "Captured revisions a failed delta write handed to the next capture instead of losing them");
        _verifications = _factory.CreateCounter("lifeboat_snapshot_verifications_total",
            "Full snapshots read back after upload (--verify-after-upload), by result", ["result"]);
        // Absent until the first read-back: 0 would claim a damaged snapshot.
        _verified = _factory.CreateGauge("lifeboat_snapshot_verified",
            "1 when the newest full snapshot read back intact after upload, 0 when it did not (--verify-after-upload)",
            new GaugeConfiguration { SuppressInitialValue = true });

        _mirrored = _factory.CreateCounter("lifeboat_mirror_snapshots_total", "Snapshots copied to the --mirror-store, by result", ["result"]);
        _mirrorFailures = _factory.CreateCounter("lifeboat_mirror_failures_total", "Mirror rounds that failed as a whole (a store down) and are tried again");
        // Absent until the first round: 0 would read as "never", which is what it then is, but alerts key on age.
        _mirrorLastSuccess = _factory.CreateGauge("lifeboat_mirror_last_success_timestamp_seconds",
            "Unix time of the last mirror round that left the mirror holding every snapshot of the store", new GaugeConfiguration { SuppressInitialValue = true });

        var lastSuccess = _factory.CreateGauge("lifeboat_snapshot_last_success_timestamp_seconds", "Unix time of the last good snapshot, by kind", ["kind"]);
        var sinceLastSuccess = _factory.CreateGauge("lifeboat_snapshot_since_last_success_seconds",
            "Seconds since the last good snapshot of any kind (grows while etcd is idle: alert on lifeboat_backup_behind_seconds)");
        var behind = _factory.CreateGauge("lifeboat_backup_behind_seconds",
            "Seconds the store has lacked changes etcd holds; 0 while the chain reaches etcd's revision");
        var lag = _factory.CreateGauge("lifeboat_delta_lag", "etcd's revision minus the last revision captured");
        var chain = _factory.CreateGauge("lifeboat_chain_revision", "Last revision the chain reaches");
        var leader = _factory.CreateGauge("lifeboat_leader", "1 when this sidecar's member is etcd's leader and writes snapshots");
        Registry.AddBeforeCollectCallback(() =>
        {
            foreach (var (kind, at) in new[] { ("full", state.LastFullAt), ("delta", state.LastDeltaAt) })
            {
                if (at is { } t)
                {
                    lastSuccess.WithLabels(kind).Set(t.ToUnixTimeMilliseconds() / 1000.0);
                }
            }

            sinceLastSuccess.Set((state.LastDeltaAt ?? state.LastFullAt) is { } last ? (time.GetUtcNow() - last).TotalSeconds : double.NaN);
            behind.Set(state.Behind.TotalSeconds);
            lag.Set(Math.Max(0, state.EtcdRevision - state.ChainReach));
            chain.Set(state.ChainReach);
            leader.Set(state.IsLeader ? 1 : 0);
        });
    }

    /// <summary>What /metrics serves.</summary>
    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();

    /// <summary>For metrics owned elsewhere in the hosting layer (the metered store), in the same registry.</summary>
    public IMetricFactory Factory => _factory;

    public void Snapshot(string kind, bool success, TimeSpan duration, long size)
    {
        _snapshots.WithLabels(kind, success ? "success" : "failure").Inc();
        if (success)
        {
            _duration.WithLabels(kind).Observe(duration.TotalSeconds);
            _size.WithLabels(kind).Observe(size);
        }
    }

    public void Events(long count) => _events.Inc(count);

    public void TermFailed() => _termFailures.Inc();

    public void Carried(long revisions) => _carried.Inc(revisions);

    public void Verified(bool ok)
    {
        _verifications.WithLabels(ok ? "ok" : "damaged").Inc();
        _verified.Set(ok ? 1 : 0);
        _verified.Publish();
    }

    /// <summary>Reports what waits in the local buffer (--buffer-dir) for the store.</summary>
    public void Buffer(Lifeboat.Storage.Buffering.BufferedStore buffer, long limit)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        var limitGauge = _factory.CreateGauge("lifeboat_buffer_limit_bytes", "--buffer-max-bytes: the most the local buffer holds");
        var objects = _factory.CreateGauge("lifeboat_buffer_objects", "Snapshots waiting in the local buffer for the store");
        var size = _factory.CreateGauge("lifeboat_buffer_size_bytes", "Bytes waiting in the local buffer for the store");
        limitGauge.Set(limit);
        Registry.AddBeforeCollectCallback(() =>
        {
            objects.Set(buffer.BufferedObjects);
            size.Set(buffer.BufferedBytes);
        });
    }

    public void Deleted(int count) => _deletions.Inc(count);

    public void MirrorFailed() => _mirrorFailures.Inc();

    public void Mirrored(int copied, int failed, DateTimeOffset at)
    {
        _mirrored.WithLabels("copied").Inc(copied);
        _mirrored.WithLabels("failed").Inc(failed);
        if (failed == 0)
        {
            _mirrorLastSuccess.Set(at.ToUnixTimeMilliseconds() / 1000.0);
        }
    }

    /// <summary>The exposition text of every metric (text format 0.0.4), as /metrics serves it.</summary>
    public async Task<string> RenderAsync(CancellationToken cancellationToken)
    {
        using var text = new MemoryStream();
        await Registry.CollectAndExportAsTextAsync(text, cancellationToken);
        return System.Text.Encoding.UTF8.GetString(text.GetBuffer(), 0, (int)text.Length);
    }
}
