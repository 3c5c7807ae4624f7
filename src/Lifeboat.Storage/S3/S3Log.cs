using Microsoft.Extensions.Logging;

namespace Lifeboat.Storage.S3;

internal static partial class S3Log
{
    [LoggerMessage(4101, LogLevel.Information, "Removed a stale {What} left by an earlier writer: {Key}")]
    public static partial void StaleRemoved(ILogger logger, string what, string key);

    [LoggerMessage(4102, LogLevel.Debug, "Could not look for stale {What} (a bucket lifecycle rule can remove them instead): {Reason}")]
    public static partial void StaleCleanupFailed(ILogger logger, string what, string reason);

    [LoggerMessage(4104, LogLevel.Warning, "Could not {Action}; retrying in {Seconds:F1} s: {Reason}")]
    public static partial void Retrying(ILogger logger, string action, double seconds, string reason);
}
