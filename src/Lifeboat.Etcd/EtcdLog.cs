using Microsoft.Extensions.Logging;

namespace Lifeboat.Etcd;

/// <summary>Every log message of the etcd capability. Event ids 1000–1999.</summary>
internal static partial class EtcdLog
{
    [LoggerMessage(1002, LogLevel.Warning, "--user {User} given, but etcd has authentication disabled: calls go without a token until it is enabled")]
    public static partial void AuthNotEnabled(ILogger logger, string user);

    [LoggerMessage(1001, LogLevel.Warning, "etcd endpoint {Endpoint} failed ({Reason}); failing over to {Next}")]
    public static partial void FailingOver(ILogger logger, string endpoint, string reason, string next);

    [LoggerMessage(1101, LogLevel.Information, "Full snapshot started from {Endpoint} (etcd revision at start {StartRevision}, db size {DbSize} bytes)")]
    public static partial void SnapshotStarted(ILogger logger, string endpoint, long startRevision, long dbSize);

    [LoggerMessage(1102, LogLevel.Information, "Full snapshot {Key} stored: revision {Revision}, {Bytes} bytes in {Seconds:0.00} s")]
    public static partial void SnapshotStored(ILogger logger, string key, long revision, long bytes, double seconds);

    [LoggerMessage(1103, LogLevel.Debug, "Full snapshot failed after {Bytes} bytes; nothing was stored: {Reason}")]
    public static partial void SnapshotFailed(ILogger logger, long bytes, string reason);
}
