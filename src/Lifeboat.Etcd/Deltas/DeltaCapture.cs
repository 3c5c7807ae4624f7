using System.Runtime.CompilerServices;
using Google.Protobuf;
using Lifeboat.Core.Codecs;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Scheduling;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Deltas.Format;
using Lifeboat.Etcd.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeboat.Etcd.Deltas;

/// <summary>
/// Captures etcd's changes after a chain's last revision as delta snapshots: watches every key from that revision + 1
/// with <c>prev_kv</c>, groups events by revision (one <see cref="RevisionRecord"/> per revision, in etcd's order), and
/// writes them as delta files whose revisions continue the chain without gap or overlap.
/// </summary>
/// <remarks>
/// The watch reconnects after transient errors (etcd restarting, a leader change) from the last revision received,
/// with jittered backoff. When that revision has been compacted, <see cref="EtcdCompactedException"/> reaches the
/// caller, who must start a new chain with a full snapshot: a delta never silently skips revisions. Every revision
/// of etcd has at least one event when all keys are watched, so a missing revision means the watch was filtered
/// (etcd auth without root) and is refused when written.
/// </remarks>
public sealed class DeltaCapture(EtcdClient client, ISnapshotStore store, DeltaOptions options, TimeProvider? time = null, ILogger? logger = null)
    : IDisposable
{
    private static readonly ByteString AllKeys = ByteString.CopyFrom(0);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly Dictionary<long, long> _leaseTtls = [];
    private readonly Lock _flushLock = new();
    private CancellationTokenSource _flushNow = new();
    private List<TaskCompletionSource<StoredDelta?>> _flushWaiters = [];
    private bool _disposed;
    private volatile bool _abandoned;

    /// <summary>
    /// Checked right before each delta is committed; throws to refuse the write (e.g. this sidecar's member is no longer
    /// the leader, and another sidecar continues the chain).
    /// </summary>
    public Func<CancellationToken, Task>? BeforeCommit { get; init; }

    /// <summary>
    /// The SHA-256 that ends the file the next delta continues (the chain's last delta, or its full snapshot): recorded
    /// in the delta so that a restore can tell it belongs after that file. Set it before capturing; each delta written
    /// moves it on. Null when unknown, which restores accept with a warning.
    /// </summary>
    public byte[]? PreviousSha256 { get; set; }

    /// <summary>
    /// After <see cref="RunAsync"/> failed: the revisions it had captured but not written (the store was down, say), in
    /// order. The caller hands them to the next capture, which writes them first and watches on after them, so that
    /// nothing captured is lost to a failure and nothing is read from etcd twice.
    /// </summary>
    public IReadOnlyList<RevisionRecord> Unwritten { get; private set; } = [];

    /// <summary>Makes a cancelled <see cref="RunAsync"/> drop what it buffered instead of writing it (another writer takes over).</summary>
    public void Abandon() => _abandoned = true;

    /// <summary>
    /// Asks a running <see cref="RunAsync"/> to write what it has buffered now. Completes with the delta written, or
    /// null when nothing had changed since the last one.
    /// </summary>
    public async Task<StoredDelta?> FlushNowAsync(CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource<StoredDelta?>(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationTokenSource signal;
        lock (_flushLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _flushWaiters.Add(waiter);
            signal = _flushNow;
        }

        await signal.CancelAsync(); // a replaced source is never disposed, so this cannot race with the loop
        return await waiter.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Stops accepting flush requests and fails those still waiting: the capture that would have answered them is gone.</summary>
    public void Dispose()
    {
        lock (_flushLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _flushNow.Dispose();
            foreach (var waiter in _flushWaiters)
            {
                waiter.TrySetException(new InvalidOperationException("delta capture stopped before writing the requested delta (it restarts after a backoff)"));
            }

            _flushWaiters.Clear();
        }
    }

    /// <summary>
    /// Captures every change after <paramref name="afterRevision"/> up to etcd's revision at the start of the call (and
    /// whatever arrives with it), as one delta, or several when they exceed <see cref="DeltaOptions.MaxBytes"/>.
    /// </summary>
    /// <exception cref="EtcdCompactedException">Revision <paramref name="afterRevision"/> + 1 is no longer in etcd's history.</exception>
    public async Task<DeltaCaptureResult> CaptureToNowAsync(long afterRevision, CancellationToken cancellationToken)
    {
        var status = await client.StatusAsync(null, cancellationToken);
        var target = status.Header.Revision;
        if (target <= afterRevision)
        {
            return new DeltaCaptureResult(afterRevision, afterRevision, []);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.CatchUpTimeout);
        var pending = new List<RevisionRecord>();
        var written = new List<StoredDelta>();
        long pendingBytes = 0;
        var last = afterRevision;
        try
        {
            await foreach (var record in WatchAsync(afterRevision, deadline.Token))
            {
                // The deadline is for a watch that stalls, not for a long backlog: every revision received restarts it.
                deadline.CancelAfter(options.CatchUpTimeout);
                pending.Add(record);
                pendingBytes += DeltaFile.SizeOf(record);
                last = record.Revision;
                if (pendingBytes >= options.MaxBytes)
                {
                    written.Add(await WriteAsync(status.Header, pending, cancellationToken));
                    pending.Clear();
                    pendingBytes = 0;
                }

                if (last >= target)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new EtcdException(Grpc.Core.StatusCode.DeadlineExceeded,
                $"the watch received nothing from etcd for {options.CatchUpTimeout.TotalSeconds:0} s (at revision {last} of {target})",
                "etcd may be overloaded; try again", client.CurrentEndpoint.ToString());
        }

        if (pending.Count > 0)
        {
            written.Add(await WriteAsync(status.Header, pending, cancellationToken));
        }

        return new DeltaCaptureResult(afterRevision, last, written);
    }

    /// <summary>
    /// The continuous form, which the sidecar drives: captures every change after <paramref name="afterRevision"/> and
    /// writes a delta every <paramref name="period"/>, sooner when the buffered changes pass
    /// <see cref="DeltaOptions.MaxBytes"/>. A period without changes writes nothing; <paramref name="onProgress"/> still
    /// learns how far the chain reaches (from etcd's progress notifications).
    /// </summary>
    /// <param name="onFlushed">Called after each delta is stored.</param>
    /// <param name="onProgress">Called with the revision the chain is known to reach, stored or not.</param>
    /// <param name="carried">
    /// What an earlier capture of the chain captured but could not write (its <see cref="Unwritten"/>): the revisions
    /// right after <paramref name="afterRevision"/>. They are written first; the watch starts after them.
    /// </param>
    /// <returns>Never returns normally; ends by cancellation (flushing what is buffered first) or an exception.</returns>
    /// <exception cref="EtcdCompactedException">The next revision needed is gone: start a new chain with a full snapshot.</exception>
    public async Task RunAsync(long afterRevision, TimeSpan period, Func<StoredDelta, Task> onFlushed, Action<long>? onProgress,
        CancellationToken cancellationToken, IReadOnlyList<RevisionRecord>? carried = null)
    {
        ArgumentNullException.ThrowIfNull(onFlushed);
        var pending = new List<RevisionRecord>(carried ?? []);
        if (pending.Count > 0 && (pending[0].Revision != afterRevision + 1 || pending[^1].Revision != afterRevision + pending.Count))
        {
            throw new ArgumentException($"the carried revisions {pending[0].Revision}..{pending[^1].Revision} do not continue revision {afterRevision}", nameof(carried));
        }

        long pendingBytes = pending.Sum(r => (long)DeltaFile.SizeOf(r));
        var watchAfter = pending.Count > 0 ? pending[^1].Revision : afterRevision;
        var header = (await client.StatusAsync(null, cancellationToken)).Header;
        var due = _time.GetUtcNow() + period;
        var channel = System.Threading.Channels.Channel.CreateBounded<RevisionRecord>(new System.Threading.Channels.BoundedChannelOptions(10_000)
        {
            SingleReader = true,
            SingleWriter = true,
        });
        using var stopWatch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watcher = Task.Run(async () =>
        {
            try
            {
                await foreach (var record in WatchRecordsAsync(watchAfter, r => onProgress?.Invoke(r), stopWatch.Token))
                {
                    await channel.Writer.WriteAsync(record, stopWatch.Token);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                channel.Writer.TryComplete(ex);
                return;
            }

            channel.Writer.TryComplete();
        }, CancellationToken.None);

        async Task FlushAsync(CancellationToken token)
        {
            List<TaskCompletionSource<StoredDelta?>> waiters;
            lock (_flushLock)
            {
                waiters = _flushWaiters;
                _flushWaiters = [];
                if (_flushNow.IsCancellationRequested)
                {
                    _flushNow = new CancellationTokenSource(); // the fired one stays undisposed: FlushNowAsync may still hold it
                }
            }

            StoredDelta? stored = null;
            try
            {
                if (pending.Count > 0)
                {
                    stored = await WriteAsync(header, pending, token);
                    pending.Clear();
                    pendingBytes = 0;
                    await onFlushed(stored);
                }
            }
            catch (Exception ex)
            {
                waiters.ForEach(w => w.TrySetException(ex));
                throw;
            }

            waiters.ForEach(w => w.TrySetResult(stored));
            due = _time.GetUtcNow() + period;
        }

        try
        {
            while (true)
            {
                var wait = due - _time.GetUtcNow();
                CancellationToken flushNow;
                lock (_flushLock)
                {
                    flushNow = _flushNow.Token;
                }

                using var tick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, flushNow);
                tick.CancelAfter(wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
                try
                {
                    var record = await channel.Reader.ReadAsync(tick.Token);
                    pending.Add(record);
                    pendingBytes += DeltaFile.SizeOf(record);
                    onProgress?.Invoke(record.Revision);
                    if (pendingBytes >= options.MaxBytes)
                    {
                        await FlushAsync(cancellationToken);
                    }
                }
                catch (OperationCanceledException) when (tick.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    await FlushAsync(cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Keep what was captured: the buffered changes become one last delta (unless another writer took over).
            if (!_abandoned)
            {
                await FlushAsync(CancellationToken.None);
            }

            throw;
        }
        catch (System.Threading.Channels.ChannelClosedException ex) when (ex.InnerException is not null)
        {
            try
            {
                await FlushAsync(CancellationToken.None);
            }
            catch (Exception) when (ex.InnerException is EtcdCompactedException)
            {
                // the compaction is what the caller must hear about; what is buffered stays in Unwritten
            }

            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
        finally
        {
            Unwritten = [.. pending]; // empty after a clean flush; after a failure, what the next capture writes first
            await stopWatch.CancelAsync();
            try
            {
                await watcher;
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>
    /// Every revision after <paramref name="afterRevision"/> as a record, in order, forever (until cancelled),
    /// reconnecting after transient failures from the last revision yielded.
    /// </summary>
    /// <exception cref="EtcdCompactedException">The next revision needed is no longer in etcd's history.</exception>
    public IAsyncEnumerable<RevisionRecord> WatchAsync(long afterRevision, CancellationToken cancellationToken) =>
        WatchRecordsAsync(afterRevision, null, cancellationToken);

    /// <param name="onProgress">Called with the revision etcd reports in an event-free progress notification.</param>
    private async IAsyncEnumerable<RevisionRecord> WatchRecordsAsync(long afterRevision, Action<long>? onProgress,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var next = afterRevision + 1;
        var failures = 0;
        while (true)
        {
            var watch = await OpenWatchAsync(next, failures, cancellationToken);
            if (watch is null)
            {
                failures++;
                continue;
            }

            await using (watch)
            {
                var responses = watch.ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
                try
                {
                    while (true)
                    {
                        WatchResponse response;
                        try
                        {
                            if (!await responses.MoveNextAsync())
                            {
                                break; // etcd ended the stream: reconnect
                            }

                            response = responses.Current;
                        }
                        catch (EtcdException ex) when (ex.IsTransient && ex is not EtcdCompactedException)
                        {
                            DeltaLog.WatchInterrupted(_logger, next, ex.Message);
                            break;
                        }

                        failures = 0;
                        if (response.Events.Count == 0 && !response.Created && response.Header is { Revision: var reached } && reached >= next - 1)
                        {
                            onProgress?.Invoke(reached); // nothing happened up to here: the chain reaches this far
                        }

                        foreach (var record in await ToRecordsAsync(response, next, cancellationToken))
                        {
                            next = record.Revision + 1;
                            yield return record;
                        }
                    }
                }
                finally
                {
                    await responses.DisposeAsync();
                }
            }

            failures++;
            await BackoffAsync(failures, cancellationToken);
        }
    }

    private async Task<EtcdWatch?> OpenWatchAsync(long startRevision, int failures, CancellationToken cancellationToken)
    {
        try
        {
            return await client.WatchAsync(new WatchCreateRequest
            {
                Key = AllKeys,
                RangeEnd = AllKeys,
                StartRevision = startRevision,
                PrevKv = true,
                ProgressNotify = true,
            }, cancellationToken);
        }
        catch (EtcdException ex) when (ex.IsTransient && failures < 100)
        {
            DeltaLog.WatchInterrupted(_logger, startRevision, ex.Message);
            await BackoffAsync(failures + 1, cancellationToken);
            return null;
        }
    }

    private Task BackoffAsync(int failures, CancellationToken cancellationToken) =>
        Task.Delay(Backoff.Jittered(failures, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5)), _time, cancellationToken);

    /// <summary>Groups a response's events by revision, checking that they continue at <paramref name="next"/>.</summary>
    private async Task<List<RevisionRecord>> ToRecordsAsync(WatchResponse response, long next, CancellationToken cancellationToken)
    {
        var records = new List<RevisionRecord>();
        var observed = _time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        foreach (var e in response.Events)
        {
            var revision = e.Kv.ModRevision;
            if (records.Count == 0 || records[^1].Revision != revision)
            {
                var expected = records.Count == 0 ? next : records[^1].Revision + 1;
                if (revision != expected)
                {
                    throw new IntegrityException(
                        $"the watch skipped from revision {expected - 1} to {revision}: changes would be missing from the delta",
                        "the watch must see every key; with etcd auth enabled, use a client certificate of the root user");
                }

                records.Add(new RevisionRecord { Revision = revision, ObservedUnixMicros = observed });
            }

            var record = records[^1];
            var change = e.Type == Event.Types.EventType.Put
                ? new Change
                {
                    Kind = Change.Types.Kind.Put,
                    Key = e.Kv.Key,
                    Value = e.Kv.Value,
                    Lease = e.Kv.Lease,
                    CreateRevision = e.Kv.CreateRevision,
                    Version = e.Kv.Version,
                    PrevModRevision = e.PrevKv?.ModRevision ?? 0,
                }
                : new Change { Kind = Change.Types.Kind.Delete, Key = e.Kv.Key, PrevModRevision = e.PrevKv?.ModRevision ?? 0 };
            record.Changes.Add(change);
            if (change.Lease != 0 && !_leaseTtls.ContainsKey(change.Lease))
            {
                var ttl = await client.LeaseTimeToLiveAsync(change.Lease, keys: false, cancellationToken);
                var granted = ttl.TTL == -1 ? 0 : ttl.GrantedTTL;
                _leaseTtls[change.Lease] = granted;
                record.NewLeases.Add(new Format.Lease { Id = change.Lease, GrantedTtl = granted });
            }
        }

        return records;
    }

    private async Task<StoredDelta> WriteAsync(ResponseHeader header, List<RevisionRecord> records, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var now = _time.GetUtcNow();
        var name = SnapshotName.Delta(records[0].Revision, records[^1].Revision, now, options.Compression) with { ClusterId = header.ClusterId };
        var deltaHeader = new DeltaHeader
        {
            FormatVersion = DeltaFile.FormatVersion,
            FirstRevision = name.FirstRevision,
            LastRevision = name.LastRevision,
            ClusterId = header.ClusterId,
            MemberId = header.MemberId,
            CreatedUnixSeconds = now.ToUnixTimeSeconds(),
            PreviousSha256 = PreviousSha256 is { } previous ? ByteString.CopyFrom(previous) : ByteString.Empty,
        };
        byte[] checksum;
        await using var write = await store.BeginWriteAsync(cancellationToken);
        await using (var sink = SnapshotCodec.Compressing(write.Content, options.Compression))
        {
            checksum = await DeltaFile.WriteAsync(sink, deltaHeader, records, cancellationToken);
        }

        var key = SnapshotLayout.ToKey(name);
        if (BeforeCommit is { } guard)
        {
            await guard(cancellationToken);
        }

        var stored = await write.CommitAsync(key, overwrite: false, cancellationToken);
        (key, name) = Snapshots.FullSnapshotter.Committed(stored, key, name);
        PreviousSha256 = checksum;
        var changes = records.Sum(r => (long)r.Changes.Count);
        DeltaLog.DeltaStored(_logger, key, name.FirstRevision, name.LastRevision, changes, stored.Size);
        return new StoredDelta(key, name, stored.Size, records.Count, changes, _time.GetElapsedTime(started));
    }
}
