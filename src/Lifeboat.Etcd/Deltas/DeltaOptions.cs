using Lifeboat.Core.Snapshots;

namespace Lifeboat.Etcd.Deltas;

/// <summary>How deltas are cut and stored.</summary>
public sealed record DeltaOptions
{
    /// <summary>
    /// Largest delta file, in encoded bytes before compression; buffered changes past it are flushed early. Measured with
    /// the sidecar under etcd's highest write rate here (bench/delta-lag.sh, 2 KB values, gzip): 32 MiB peaked at
    /// 341 MiB RSS and 2,123 revisions of lag, 8 MiB at 188 MiB and 240, at the same throughput.
    /// </summary>
    public long MaxBytes { get; init; } = DefaultMaxBytes;

    public const long DefaultMaxBytes = 8L << 20;

    /// <summary>Compression of stored deltas.</summary>
    public Compression Compression { get; init; } = Compression.None;

    /// <summary>How long a one-shot capture may go without receiving a revision from etcd before giving up (a long backlog that keeps arriving never times out).</summary>
    public TimeSpan CatchUpTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>TTL granted on restore to a lease whose TTL was unknown at capture (it was gone when first seen).</summary>
    public static long UnknownLeaseTtlSeconds => 3600;
}
