using System.Diagnostics.Metrics;

namespace Lifeboat.Cli.Hosting;

/// <summary>The sidecar's instruments (meter <c>Lifeboat.Etcd.Sidecar</c>), exposed as <c>lifeboat_*</c> on /metrics.</summary>
internal sealed class SidecarMetrics : IDisposable
{
    public const string MeterName = "Lifeboat.Etcd.Sidecar";
    private readonly Meter _meter;
    private readonly Counter<long> _snapshots;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _size;
    private readonly Counter<long> _events;
    private readonly Counter<long> _deletions;
    private readonly Counter<long> _verifications;
    private readonly Counter<long> _termFailures;
    private readonly Counter<long> _carried;
    private int _lastVerified = -1;

    public SidecarMetrics(SidecarState state, TimeProvider time)
    {
        _meter = new Meter(MeterName);
        _snapshots = _meter.CreateCounter<long>("lifeboat.snapshots", description: "Snapshots attempted, by kind and result");
        _duration = _meter.CreateHistogram<double>("lifeboat.snapshot.duration", "s", "Time to take and store a snapshot");
        _size = _meter.CreateHistogram<double>("lifeboat.snapshot.size", "By", "Stored size of a snapshot");
        _events = _meter.CreateCounter<long>("lifeboat.delta.events", description: "Key changes captured into deltas");
        _deletions = _meter.CreateCounter<long>("lifeboat.retention.deletions", description: "Snapshots deleted by retention");
        _termFailures = _meter.CreateCounter<long>("lifeboat.sidecar.term_failures", description: "Times the sidecar's work failed as a whole and was started again after a backoff");
        _carried = _meter.CreateCounter<long>("lifeboat.delta.carried_revisions", description: "Captured revisions a failed delta write handed to the next capture instead of losing them");
        _verifications = _meter.CreateCounter<long>("lifeboat.snapshot.verifications", description: "Full snapshots read back after upload (--verify-after-upload), by result");
        _meter.CreateObservableGauge("lifeboat.snapshot.verified", () => Volatile.Read(ref _lastVerified) is >= 0 and var v ? new[] { new Measurement<int>(v) } : [],
            description: "1 when the newest full snapshot read back intact after upload, 0 when it did not (--verify-after-upload)");
        _meter.CreateObservableGauge("lifeboat.snapshot.last_success.timestamp", () => new[]
        {
            Measurement(state.LastFullAt, "full"),
            Measurement(state.LastDeltaAt, "delta"),
        }.Where(m => m.HasValue).Select(m => m!.Value), "s", "Unix time of the last good snapshot, by kind");
        _meter.CreateObservableGauge("lifeboat.snapshot.since_last_success", () =>
            (state.LastDeltaAt ?? state.LastFullAt) is { } last ? (time.GetUtcNow() - last).TotalSeconds : double.NaN,
            "s", "Seconds since the last good snapshot of any kind (grows while etcd is idle: alert on lifeboat_backup_behind_seconds)");
        _meter.CreateObservableGauge("lifeboat.backup.behind", () => state.Behind.TotalSeconds,
            "s", "Seconds the store has lacked changes etcd holds; 0 while the chain reaches etcd's revision");
        _meter.CreateObservableGauge("lifeboat.delta.lag", () => Math.Max(0, state.EtcdRevision - state.ChainReach),
            "{revision}", "etcd's revision minus the last revision captured");
        _meter.CreateObservableGauge("lifeboat.chain.revision", () => state.ChainReach, "{revision}", "Last revision the chain reaches");
        _meter.CreateObservableGauge("lifeboat.leader", () => state.IsLeader ? 1 : 0, description: "1 when this sidecar's member is etcd's leader and writes snapshots");
    }

    private static Measurement<double>? Measurement(DateTimeOffset? at, string kind) =>
        at is { } t ? new Measurement<double>(t.ToUnixTimeMilliseconds() / 1000.0, new KeyValuePair<string, object?>("kind", kind)) : null;

    public void Snapshot(string kind, bool success, TimeSpan duration, long size)
    {
        _snapshots.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("result", success ? "success" : "failure"));
        if (success)
        {
            _duration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("kind", kind));
            _size.Record(size, new KeyValuePair<string, object?>("kind", kind));
        }
    }

    public void Events(long count) => _events.Add(count);

    public void TermFailed() => _termFailures.Add(1);

    public void Carried(long revisions) => _carried.Add(revisions);

    public void Verified(bool ok)
    {
        _verifications.Add(1, new KeyValuePair<string, object?>("result", ok ? "ok" : "damaged"));
        Volatile.Write(ref _lastVerified, ok ? 1 : 0);
    }

    /// <summary>Reports what waits in the local buffer (--buffer-dir) for the store.</summary>
    public void Buffer(Lifeboat.Storage.Buffering.BufferedStore buffer, long limit)
    {
        _meter.CreateObservableGauge("lifeboat.buffer.limit", () => limit, "By", "--buffer-max-bytes: the most the local buffer holds");
        _meter.CreateObservableGauge("lifeboat.buffer.objects", () => buffer.BufferedObjects, "{object}", "Snapshots waiting in the local buffer for the store");
        _meter.CreateObservableGauge("lifeboat.buffer.size", () => buffer.BufferedBytes, "By", "Bytes waiting in the local buffer for the store");
    }

    public void Deleted(int count) => _deletions.Add(count);

    /// <summary>The sidecar's meter, for instruments owned elsewhere in the hosting layer (the metered store).</summary>
    public Meter Meter => _meter;

    public void Dispose() => _meter.Dispose();
}
