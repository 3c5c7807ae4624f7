using Lifeboat.Core.Errors;
using Microsoft.Extensions.Logging;

namespace Lifeboat.Storage;

/// <summary>
/// What the object-storage stores (S3, Azure Blob, Google Cloud Storage) share: turning an SDK's failures into
/// <see cref="StoreException"/>s, the once-per-process check before the first write with the clean-up of what crashed
/// writers left, and bounded best-effort clean-up that never hides the failure being handled.
/// </summary>
public abstract class ObjectStore
{
    private int _checked;

    private protected ObjectStore(TimeProvider time, ILogger logger)
    {
        Time = time;
        Logger = logger;
    }

    /// <summary>The store as the user names it (<c>s3://bucket/prefix</c>, ...).</summary>
    public abstract string Location { get; }

    internal TimeProvider Time { get; }

    internal DateTimeOffset Now => Time.GetUtcNow();

    internal ILogger Logger { get; }

    /// <summary>
    /// Turns an SDK or network failure into a <see cref="StoreException"/> with one line of cause and one of fix, or
    /// null when <paramref name="ex"/> is not one this store knows (it then propagates as it is).
    /// </summary>
    /// <param name="key">The store key the action concerns, if any: a "not found" then names it.</param>
    internal abstract StoreException? Translate(Exception ex, string action, string? key);

    /// <summary>Runs <paramref name="body"/>, translating its failures (<see cref="Translate"/>) unless the caller cancelled.</summary>
    internal async Task<T> GuardAsync<T>(string action, Func<Task<T>> body, CancellationToken cancellationToken, string? key = null)
    {
        try
        {
            return await body();
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && Translate(ex, action, key) is { } translated)
        {
            throw translated;
        }
    }

    /// <inheritdoc cref="GuardAsync{T}"/>
    internal Task GuardAsync(string action, Func<Task> body, CancellationToken cancellationToken, string? key = null) =>
        GuardAsync(action, async () =>
        {
            await body();
            return true;
        }, cancellationToken, key);

    /// <summary>
    /// Once per process, before the first write: <see cref="ProbeAsync"/> finds wrong credentials or a missing
    /// bucket now, not after a gigabyte was read from etcd; then <see cref="RemoveStaleAsync"/> runs in the background.
    /// </summary>
    private protected async Task CheckBeforeFirstWriteAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _checked) != 0)
        {
            return;
        }

        await ProbeAsync(cancellationToken);
        if (Interlocked.Exchange(ref _checked, 1) == 0)
        {
            _ = Task.Run(() => RemoveStaleAsync(CancellationToken.None), CancellationToken.None);
        }
    }

    /// <summary>One cheap authenticated request that fails as a <see cref="StoreException"/> when the store cannot be written.</summary>
    internal abstract Task ProbeAsync(CancellationToken cancellationToken);

    /// <summary>Removes what crashed writers left (temporary objects, pending uploads); logs rather than throws.</summary>
    internal abstract Task RemoveStaleAsync(CancellationToken cancellationToken);

    /// <summary>Clean-up that must not hide the failure being handled: bounded to 30 s, logged when it fails.</summary>
    internal async Task BestEffortAsync(string what, Func<CancellationToken, Task> action)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await action(timeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException || Translate(ex, what, null) is not null)
        {
            ObjectStoreLog.CleanupFailed(Logger, what, Location, ex.Message);
        }
    }

    /// <summary>The network failure inside <paramref name="ex"/> (refused, reset, timed out), if that is what it is.</summary>
    internal static Exception? Unreachable(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException or System.Net.Sockets.SocketException or IOException or TimeoutException
                || e is TaskCanceledException { InnerException: TimeoutException })
            {
                return e;
            }
        }

        return null;
    }

    internal static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}

internal static partial class ObjectStoreLog
{
    [LoggerMessage(3201, LogLevel.Warning, "Could not {What} in {Location}; it stays invisible and is removed later: {Reason}")]
    public static partial void CleanupFailed(ILogger logger, string what, string location, string reason);
}
