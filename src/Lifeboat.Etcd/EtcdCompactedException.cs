using Grpc.Core;

namespace Lifeboat.Etcd;

/// <summary>The revision asked for has been compacted away: history before <see cref="CompactRevision"/> is gone.</summary>
public sealed class EtcdCompactedException : EtcdException
{
    public EtcdCompactedException(long requestedRevision, long compactRevision, string? endpoint)
        : base(StatusCode.OutOfRange,
            compactRevision > 0
                ? $"etcd revision {requestedRevision} has been compacted (history starts at {compactRevision})"
                : $"etcd revision {requestedRevision} has been compacted",
            "start again from a full snapshot", endpoint)
    {
        RequestedRevision = requestedRevision;
        CompactRevision = compactRevision;
    }

    public long RequestedRevision { get; }

    /// <summary>The oldest revision still available, or 0 when etcd did not say.</summary>
    public long CompactRevision { get; }
}
