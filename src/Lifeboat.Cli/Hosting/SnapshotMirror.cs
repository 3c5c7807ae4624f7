using Lifeboat.Core.Scheduling;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;
using Lifeboat.Storage.Copy;
using Lifeboat.Storage.Encryption;
using Microsoft.Extensions.Logging;

namespace Lifeboat.Cli.Hosting;

/// <summary>
/// The sidecar's second copy (<c>--mirror-store</c>): every snapshot in the primary store that the mirror lacks is
/// copied to it, read back and checked, once per delta period and at the start of each term, so that losing the
/// primary's region keeps the chain. It is <see cref="StoreCopier"/> run on a schedule, so it is idempotent and picks
/// up after an outage of either store where it left off. A failure is logged and counted and the next round tries
/// again; it never ends the sidecar. Retention does not reach the mirror: prune it with <c>etcd snapshots prune</c>.
/// </summary>
internal sealed partial class SnapshotMirror(
    ISnapshotStore primary, KeyRing primaryKeys, ISnapshotStore mirror, KeyRing mirrorKeys, SidecarMetrics metrics, TimeProvider time, ILogger logger)
{
    public string Location => mirror.Location;

    /// <summary>Copies what is missing every <paramref name="period"/> until cancelled.</summary>
    public async Task RunAsync(TimeSpan period, CancellationToken cancellationToken)
    {
        for (var failures = 0; !cancellationToken.IsCancellationRequested;)
        {
            TimeSpan wait;
            try
            {
                await MirrorOnceAsync(cancellationToken);
                failures = 0;
                wait = period;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                failures++;
                metrics.MirrorFailed();
                wait = Backoff.Jittered(failures, TimeSpan.FromSeconds(1), period > TimeSpan.FromSeconds(60) ? period : TimeSpan.FromSeconds(60));
                Log.Failed(logger, mirror.Location, ex.Message, wait.TotalSeconds);
            }

            try
            {
                await Task.Delay(wait, time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One round: copies what the mirror lacks, in chain order.</summary>
    public async Task<CopyResult> MirrorOnceAsync(CancellationToken cancellationToken)
    {
        var snapshots = await SnapshotCatalog.ListAsync(primary, cancellationToken);
        var copier = new StoreCopier(primary, primaryKeys, mirror, mirrorKeys);
        var result = await copier.CopyAsync([.. snapshots.Select(s => s.Stored)], SnapshotLayout.Prefix, null, cancellationToken);
        metrics.Mirrored(result.Copied, result.Failures.Count, time.GetUtcNow());
        if (result.Copied > 0)
        {
            Log.Copied(logger, result.Copied, mirror.Location);
        }

        foreach (var failure in result.Failures)
        {
            Log.NotCopied(logger, mirror.Location, failure);
        }

        return result;
    }

    private static partial class Log
    {
        [LoggerMessage(2030, LogLevel.Information, "Mirrored {Count} snapshot(s) to {Mirror}")]
        public static partial void Copied(ILogger logger, int count, string mirror);

        [LoggerMessage(2031, LogLevel.Error, "A snapshot was not mirrored to {Mirror}: {Failure}")]
        public static partial void NotCopied(ILogger logger, string mirror, string failure);

        [LoggerMessage(2032, LogLevel.Error, "Mirroring to {Mirror} failed ({Reason}); trying again in {Seconds:0.#} s")]
        public static partial void Failed(ILogger logger, string mirror, string reason, double seconds);
    }
}
