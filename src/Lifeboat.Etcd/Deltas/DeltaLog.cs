using Microsoft.Extensions.Logging;

namespace Lifeboat.Etcd.Deltas;

/// <summary>Log messages of delta capture and replay. Event ids 1200–1299.</summary>
internal static partial class DeltaLog
{
    [LoggerMessage(1201, LogLevel.Warning, "Watch interrupted before revision {Revision}; reconnecting: {Reason}")]
    public static partial void WatchInterrupted(ILogger logger, long revision, string reason);

    [LoggerMessage(1202, LogLevel.Information, "Delta {Key} stored: revisions {First}..{Last}, {Changes} changes, {Bytes} bytes")]
    public static partial void DeltaStored(ILogger logger, string key, long first, long last, long changes, long bytes);
}
