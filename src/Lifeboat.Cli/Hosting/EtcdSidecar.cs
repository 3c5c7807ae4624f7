using Lifeboat.Core.Errors;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Retention;
using Lifeboat.Core.Scheduling;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Etcd.Snapshots;
using Lifeboat.Storage.Buffering;
using Microsoft.Extensions.Logging;

namespace Lifeboat.Cli.Hosting;

/// <summary>
/// The etcd backup sidecar: a full snapshot at start when the store has no intact chain, deltas continuously, full
/// snapshots on the schedule, retention after each full snapshot.
/// </summary>
/// <remarks>
/// Lifecycle: <see cref="RunAsync"/> runs until cancelled; on cancellation the delta capture writes what it has
/// buffered before it ends. Full snapshots (scheduled, requested over HTTP, or forced by compacted history) are
/// serialized; deltas keep flowing while one is taken, and the chain stays contiguous because a delta may straddle a
/// full snapshot's revision. A failing loop logs, counts the failure and retries with backoff; it never exits the
/// process on its own.
/// </remarks>
/// <param name="store">Where full snapshots go and retention applies.</param>
/// <param name="deltaStore">Where deltas go: <paramref name="store"/> itself, or a local buffer in front of it (--buffer-dir).</param>
/// <param name="mirror">Copies the store's snapshots to a second store while this sidecar leads (--mirror-store).</param>
internal sealed partial class EtcdSidecar(
    SidecarOptions options, ISnapshotStore store, ISnapshotStore deltaStore, EtcdClient client, SidecarState state, SidecarMetrics metrics,
    TimeProvider time, ILogger logger, SnapshotMirror? mirror = null)
    : IDisposable
{
    /// <summary>How often leadership is checked; a new leader also waits a few of these before it reads the store.</summary>
    internal static readonly TimeSpan LeaderCheckInterval = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _fullLock = new(1, 1);
    private DeltaCapture? _capture;
    private bool _storeChecked;

    /// <summary>The hash of the chain's last file: what the next delta records as the file it continues.</summary>
    private byte[]? _tipSha256;

    /// <summary>The member this sidecar runs beside: the first of --endpoints.</summary>
    private Uri OwnMember => options.Etcd.Endpoints[0];

    /// <summary>
    /// Runs while this sidecar's member is etcd's leader, waits while it is not: with one sidecar per member, exactly
    /// one writes. A sidecar that loses leadership drops its buffered changes (the new leader captures them again from
    /// etcd's history) and refuses to commit anything more; a new leader waits a few checks so that the old one has
    /// stopped, then continues the chain from the store's last revision.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var wasLeader = false;
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (!await IsLeaderAsync(cancellationToken))
                {
                    state.Leader(false);
                    await Task.Delay(LeaderCheckInterval, time, cancellationToken);
                    continue;
                }

                if (wasLeader || options.Etcd.Endpoints.Count > 1)
                {
                    await Task.Delay(3 * LeaderCheckInterval, time, cancellationToken); // let a previous leader notice and stop
                }

                wasLeader = true;
                state.Leader(true);
                var termStarted = time.GetTimestamp();
                await RunAsLeaderAsync(cancellationToken);
                failures = time.GetElapsedTime(termStarted) > TimeSpan.FromMinutes(1) ? 0 : failures;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (SharedStoreException) when (!_storeChecked)
            {
                throw; // a configuration error found at start: the one failure that ends the sidecar
            }
            catch (Exception ex)
            {
                // Nothing that goes wrong in a term ends the process: a store down when the chain is checked, etcd
                // restarting under a capture, a bug in a loop. It is logged, counted and retried with backoff; only
                // the signal (or a bad configuration, refused before this runs) stops the sidecar.
                failures++;
                state.Error(ex.Message);
                metrics.TermFailed();
                var delay = RetryDelay(failures);
                Log.TermFailed(logger, ex.GetType().Name, ex.Message, delay.TotalSeconds);
                try
                {
                    await Task.Delay(delay, time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task RunAsLeaderAsync(CancellationToken cancellationToken)
    {
        using var term = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watch = WatchLeadershipAsync(term, cancellationToken);
        try
        {
            var chainEnd = await EnsureChainAsync(term.Token);
            await Task.WhenAll(DeltaLoopAsync(chainEnd, term.Token), FullLoopAsync(term.Token), RevisionLoopAsync(term.Token),
                mirror?.RunAsync(options.DeltaPeriod, term.Token) ?? Task.CompletedTask);
        }
        catch (Exception ex) when ((ex is LeadershipLostException || (ex is OperationCanceledException && term.IsCancellationRequested)) && !cancellationToken.IsCancellationRequested)
        {
            // A commit that found the member no longer leader may race the watch that ends the term: both mean the same.
            Log.LeadershipLost(logger, OwnMember.ToString());
        }
        finally
        {
            await term.CancelAsync();
            await watch;
        }
    }

    /// <summary>Ends the term when the member is no longer leader (checked every <see cref="LeaderCheckInterval"/>).</summary>
    private async Task WatchLeadershipAsync(CancellationTokenSource term, CancellationToken cancellationToken)
    {
        try
        {
            while (!term.IsCancellationRequested)
            {
                await Task.Delay(LeaderCheckInterval, time, term.Token);
                if (!await IsLeaderAsync(term.Token))
                {
                    state.Leader(false);
                    _capture?.Abandon(); // the next leader captures these changes again
                    await term.CancelAsync();
                }
            }
        }
        catch (OperationCanceledException) when (term.IsCancellationRequested || cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task<bool> IsLeaderAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(LeaderCheckInterval * 2);
            var status = await client.StatusAsync(OwnMember, timeout.Token);
            return status.Leader != 0 && status.Leader == status.Header.MemberId;
        }
        catch (Exception ex) when (ex is EtcdException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false; // a member we cannot reach is not a leader we may write for
        }
    }

    private async Task EnsureStillLeaderAsync(CancellationToken cancellationToken)
    {
        if (!await IsLeaderAsync(cancellationToken))
        {
            throw new LeadershipLostException($"{OwnMember} is no longer etcd's leader; its sidecar stops writing until it is again");
        }
    }

    /// <summary>Takes a full snapshot now (serialized with every other full snapshot), then applies retention.</summary>
    public async Task<FullSnapshotResult> TakeFullAsync(string reason, CancellationToken cancellationToken)
    {
        await _fullLock.WaitAsync(cancellationToken);
        try
        {
            Log.FullStarting(logger, reason);
            var started = time.GetTimestamp();
            try
            {
                var result = await new FullSnapshotter(client, store, time, logger).TakeAsync(options.Compression, null, cancellationToken);
                if (options.VerifyAfterUpload)
                {
                    await VerifyUploadedAsync(result, cancellationToken);
                }

                state.Full(new LatestFull(result.Key, result.Name, result.StoredBytes), time.GetUtcNow());
                state.Error(null);
                metrics.Snapshot("full", true, time.GetElapsedTime(started), result.StoredBytes);
                await ApplyRetentionAsync(cancellationToken);
                return result;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                metrics.Snapshot("full", false, time.GetElapsedTime(started), 0);
                state.Error(ex.Message);
                throw;
            }
        }
        finally
        {
            _fullLock.Release();
        }
    }

    /// <summary>
    /// --verify-after-upload: reads the full snapshot just stored back from the store, end to end, as a restore would.
    /// A damaged one is deleted (it was never good, and retention must not count it) and the snapshot fails, to be
    /// taken again; retention does not run on its account.
    /// </summary>
    private async Task VerifyUploadedAsync(FullSnapshotResult result, CancellationToken cancellationToken)
    {
        var stored = new StoredSnapshot(result.Name, new StoredObject(result.Key, result.StoredBytes, time.GetUtcNow()));
        var check = await new SnapshotVerifier(store).CheckAsync(stored, cancellationToken);
        metrics.Verified(check.Ok);
        if (check.Ok)
        {
            Log.Verified(logger, result.Key);
            return;
        }

        await store.DeleteAsync(result.Key, cancellationToken);
        throw new IntegrityException($"full snapshot {result.Key} failed verification after upload and was deleted: {check.Problem}",
            "check the store (a proxy or gateway altering objects, a full disk); the snapshot is taken again");
    }

    /// <summary>Writes the buffered changes as a delta now; null when nothing changed since the last one.</summary>
    public async Task<StoredDelta?> FlushDeltaAsync(CancellationToken cancellationToken)
    {
        try
        {
            return _capture is { } capture
                ? await capture.FlushNowAsync(cancellationToken)
                : throw new InvalidOperationException("delta capture is not running (it starts once the chain is checked, and restarts after a failure)");
        }
        catch (ObjectDisposedException)
        {
            throw new InvalidOperationException("delta capture is restarting after a failure; ask again shortly");
        }
    }

    private async Task<long> EnsureChainAsync(CancellationToken cancellationToken)
    {
        var snapshots = await SnapshotCatalog.ListAsync(deltaStore, cancellationToken);
        var ownCluster = (await client.StatusAsync(OwnMember, cancellationToken)).Header.ClusterId;
        CheckStoreNotShared(snapshots, ownCluster);
        var chains = RestorePlanner.Chains(snapshots);
        var newest = RestorePlanner.Newest(chains);
        string reason;
        if (newest?.Full.Name.ClusterId is { } theirs && theirs != ownCluster)
        {
            reason = $"the newest chain is of cluster {ChainIdentity.Hex(theirs)}, which this one replaces"; // never continue another cluster's chain
        }
        else if (newest is { GapAfter: null })
        {
            var tip = newest.Deltas.Count > 0 ? newest.Deltas[^1] : newest.Full;
            try
            {
                _tipSha256 = await TipSha256Async(tip, cancellationToken);
                var latestFull = chains.MaxBy(c => c.FirstTime)!;
                state.Full(new LatestFull(latestFull.Full.Key, latestFull.Full.Name, latestFull.Full.Stored.Size), latestFull.FirstTime);
                state.ResetReach(newest.LastRevision);
                Log.ChainContinues(logger, newest.LastRevision, newest.Full.Key);
                return newest.LastRevision;
            }
            catch (IntegrityException ex)
            {
                reason = $"the newest chain ends in a damaged file ({ex.Message})"; // nothing can be restored past it
            }
        }
        else
        {
            reason = newest is null ? "the store has no full snapshot" : $"the newest chain is broken at revision {newest.GapAfter}";
        }

        var full = await TakeFullAsync(reason, cancellationToken);
        _tipSha256 = full.Sha256;
        state.ResetReach(full.Name.LastRevision);
        return full.Name.LastRevision;
    }

    /// <summary>
    /// The hash of the chain's last file, which the next delta records as the file it continues. When the store cannot
    /// be read now (an outage, with deltas going to --buffer-dir), backing up goes on without it: that one delta records
    /// no link, and a restore checks it by revision and cluster only (and says so).
    /// </summary>
    private async Task<byte[]?> TipSha256Async(StoredSnapshot tip, CancellationToken cancellationToken)
    {
        try
        {
            return (await ChainIdentity.ReadAsync(deltaStore, tip, cancellationToken)).Sha256;
        }
        catch (StoreException ex)
        {
            Log.TipUnreadable(logger, tip.Key, ex.Message);
            return null;
        }
    }

    /// <summary>
    /// Refuses a store that holds another etcd cluster's snapshots under the same prefix (two clusters configured with
    /// one --store by mistake): their chains would interleave. At start this ends the sidecar; later (the other
    /// cluster began writing meanwhile) it fails the term, which is logged and retried, so backups of this cluster go on.
    /// </summary>
    private void CheckStoreNotShared(IReadOnlyList<StoredSnapshot> snapshots, ulong ownCluster)
    {
        var other = snapshots.LastOrDefault(s => s.Name.ClusterId is { } c && c != ownCluster && !options.ReplacesClusters.Contains(c));
        if (other is null)
        {
            _storeChecked = true;
            return;
        }

        throw new SharedStoreException(
            $"{store.Location} already holds snapshots of another etcd cluster ({ChainIdentity.Hex(other.Name.ClusterId!.Value)}, e.g. {other.Key}); " +
            $"this sidecar backs up cluster {ChainIdentity.Hex(ownCluster)}, and the two chains would mix",
            $"give each cluster its own store or prefix (--store .../<cluster name>), or, if this cluster replaced that one (restored with other member flags), pass --replaces-cluster {ChainIdentity.Hex(other.Name.ClusterId.Value)}");
    }

    private async Task DeltaLoopAsync(long after, CancellationToken cancellationToken)
    {
        var stored = after;
        var failures = 0;
        IReadOnlyList<Etcd.Deltas.Format.RevisionRecord> carried = []; // captured, not yet written: the next capture writes them first
        while (!cancellationToken.IsCancellationRequested)
        {
            using var capture = new DeltaCapture(client, deltaStore,
                new DeltaOptions { Compression = options.Compression, MaxBytes = options.DeltaMaxBytes }, time, logger)
            {
                BeforeCommit = EnsureStillLeaderAsync,
                PreviousSha256 = _tipSha256,
            };
            _capture = capture;
            try
            {
                await capture.RunAsync(stored, options.DeltaPeriod, d =>
                {
                    stored = d.Name.LastRevision;
                    _tipSha256 = capture.PreviousSha256;
                    failures = 0;
                    state.Delta(d, time.GetUtcNow());
                    state.Error(null); // the last error is history once a delta is stored again
                    metrics.Snapshot("delta", true, d.WriteDuration, d.StoredBytes);
                    metrics.Events(d.Changes);
                    return Task.CompletedTask;
                }, state.Reach, cancellationToken, carried);
            }
            catch (EtcdCompactedException ex)
            {
                carried = [];
                Log.HistoryCompacted(logger, stored + 1, ex.Message);
                var full = await RetryAsync(() => TakeFullAsync($"etcd compacted revision {stored + 1} away", cancellationToken), cancellationToken);
                stored = full.Name.LastRevision;
                _tipSha256 = full.Sha256;
                state.ResetReach(stored);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // Gone before the backoff, not after it: a flush asked for meanwhile is answered at once (503), never left waiting.
                _capture = null;
                capture.Dispose();
                carried = Carry(capture.Unwritten, stored);
                failures++;
                metrics.Snapshot("delta", false, TimeSpan.Zero, 0);
                state.Error(ex.Message);
                Log.DeltaFailed(logger, stored + 1, ex.Message);
                await Task.Delay(RetryDelay(failures), time, cancellationToken);
            }
        }
    }

    /// <summary>
    /// What a failed capture hands to the next: its unwritten revisions, while they fit in memory (four times the
    /// delta size limit). Past that, they are dropped and captured again from etcd's history, which holds them until
    /// it is compacted (--buffer-dir keeps written deltas on disk instead, for long store outages).
    /// </summary>
    private IReadOnlyList<Etcd.Deltas.Format.RevisionRecord> Carry(IReadOnlyList<Etcd.Deltas.Format.RevisionRecord> unwritten, long stored)
    {
        if (unwritten.Count == 0 || unwritten[0].Revision != stored + 1)
        {
            return [];
        }

        var bytes = unwritten.Sum(r => (long)DeltaFile.SizeOf(r));
        if (bytes > 4 * options.DeltaMaxBytes)
        {
            Log.CarryDropped(logger, unwritten.Count, bytes);
            return [];
        }

        metrics.Carried(unwritten.Count);
        return unwritten;
    }

    private async Task FullLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var next = state.LastFullAt is { } last ? options.FullSchedule.NextAfter(last) : now;
            var wait = next - now;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait < TimeSpan.FromMinutes(1) ? wait : TimeSpan.FromMinutes(1), time, cancellationToken);
                continue; // re-check: a full snapshot may have been taken over HTTP meanwhile
            }

            if (options.FullSchedule.IsDue(state.LastFullAt, time.GetUtcNow()))
            {
                await RetryAsync(() => TakeFullAsync("scheduled", cancellationToken), cancellationToken);
            }
        }
    }

    private async Task RevisionLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                state.Etcd((await client.StatusAsync(null, cancellationToken)).Header.Revision);
            }
            catch (EtcdException)
            {
                // readiness reports etcd's state; the lag keeps its last known value
            }

            await Task.Delay(TimeSpan.FromSeconds(5), time, cancellationToken);
        }
    }

    private async Task ApplyRetentionAsync(CancellationToken cancellationToken)
    {
        try
        {
            var plan = RetentionPlanner.Plan(await SnapshotCatalog.ListAsync(store, cancellationToken), options.Retention, time.GetUtcNow());
            foreach (var d in plan.Delete)
            {
                Log.RetentionDeleting(logger, d.Snapshot.Key, d.Reason);
            }

            metrics.Deleted(await RetentionExecutor.ApplyAsync(store, plan, cancellationToken));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.RetentionFailed(logger, ex.Message); // the next full snapshot tries again
        }
    }

    private async Task<T> RetryAsync<T>(Func<Task<T>> attempt, CancellationToken cancellationToken)
    {
        for (var failures = 1; ; failures++)
        {
            try
            {
                return await attempt();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.FullFailed(logger, ex.Message);
                await Task.Delay(RetryDelay(failures), time, cancellationToken);
            }
        }
    }

    public void Dispose() => _fullLock.Dispose();

    /// <summary>The store holds another cluster's snapshots under this sidecar's prefix.</summary>
    internal sealed class SharedStoreException(string message, string hint) : LifeboatException(message, hint, null)
    {
        public override bool IsTransient => false;
    }

    /// <summary>The member stopped being etcd's leader while this sidecar was about to commit: it must not write.</summary>
    private sealed class LeadershipLostException(string message) : Exception(message);

    /// <summary>
    /// Decides what happens to a delta that waited in the local buffer: only a leader's sidecar uploads, and a delta whose
    /// revisions the store already holds (another leader captured them meanwhile) is dropped rather than duplicated.
    /// </summary>
    internal static Func<string, CancellationToken, Task<BufferDecision>> BufferGate(SidecarState state, ISnapshotStore primary) =>
        async (key, cancellationToken) =>
        {
            if (!state.IsLeader)
            {
                return BufferDecision.Wait;
            }

            if (!SnapshotLayout.TryParse(key, out var name) || name.Kind != SnapshotKind.Delta)
            {
                return BufferDecision.Upload;
            }

            var stored = await SnapshotCatalog.ListAsync(primary, cancellationToken);
            return stored.Any(s => s.Name.Kind == SnapshotKind.Delta && s.Name.FirstRevision <= name.LastRevision && s.Name.LastRevision >= name.FirstRevision)
                ? BufferDecision.Discard
                : BufferDecision.Upload;
        };

    private static TimeSpan RetryDelay(int failures) => Backoff.Jittered(failures, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

    private static partial class Log
    {
        [LoggerMessage(2020, LogLevel.Information, "Full snapshot {Key} verified after upload: read back end to end, intact")]
        public static partial void Verified(ILogger logger, string key);

        [LoggerMessage(2021, LogLevel.Error, "The sidecar's term failed ({Type}: {Reason}); it starts again in {Seconds:0.#} s")]
        public static partial void TermFailed(ILogger logger, string type, string reason, double seconds);

        [LoggerMessage(2001, LogLevel.Information, "Full snapshot starting ({Reason})")]
        public static partial void FullStarting(ILogger logger, string reason);

        [LoggerMessage(2002, LogLevel.Error, "Full snapshot failed; retrying: {Reason}")]
        public static partial void FullFailed(ILogger logger, string reason);

        [LoggerMessage(2003, LogLevel.Information, "Continuing the chain at revision {Revision} (full snapshot {Full})")]
        public static partial void ChainContinues(ILogger logger, long revision, string full);

        [LoggerMessage(2004, LogLevel.Warning, "etcd no longer has revision {Revision}; a new chain starts with a full snapshot: {Reason}")]
        public static partial void HistoryCompacted(ILogger logger, long revision, string reason);

        [LoggerMessage(2005, LogLevel.Error, "Delta capture failed at revision {Revision}; retrying: {Reason}")]
        public static partial void DeltaFailed(ILogger logger, long revision, string reason);

        [LoggerMessage(2006, LogLevel.Information, "Retention deletes {Key}: {Reason}")]
        public static partial void RetentionDeleting(ILogger logger, string key, string reason);

        [LoggerMessage(2007, LogLevel.Error, "Retention failed: {Reason}")]
        public static partial void RetentionFailed(ILogger logger, string reason);

        [LoggerMessage(2023, LogLevel.Warning, "The chain's last file {Key} cannot be read now ({Reason}); the next delta records no link to it")]
        public static partial void TipUnreadable(ILogger logger, string key, string reason);

        [LoggerMessage(2022, LogLevel.Warning, "{Revisions} captured revisions ({Bytes} bytes) exceed what the sidecar keeps in memory; they are captured again from etcd's history")]
        public static partial void CarryDropped(ILogger logger, int revisions, long bytes);

        [LoggerMessage(2008, LogLevel.Warning, "{Member} is no longer etcd's leader: this sidecar stops writing until it is again")]
        public static partial void LeadershipLost(ILogger logger, string member);
    }
}
