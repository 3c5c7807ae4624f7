using Microsoft.Extensions.Logging;

namespace Lifeboat.Storage.Azure;

/// <summary>The Azure Blob store's log messages. Event ids 3300–3399.</summary>
internal static partial class AzureLog
{
    [LoggerMessage(3301, LogLevel.Information, "Removed the stale temporary blob {Name} (left by a writer that stopped)")]
    public static partial void StaleRemoved(ILogger logger, string name);

    [LoggerMessage(3302, LogLevel.Warning, "Could not clean up stale temporary blobs: {Reason}")]
    public static partial void StaleCleanupFailed(ILogger logger, string reason);
}
