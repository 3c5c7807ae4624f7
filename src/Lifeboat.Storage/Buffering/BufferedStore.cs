using System.Runtime.CompilerServices;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Scheduling;
using Lifeboat.Core.Storage;
using Lifeboat.Storage.Local;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeboat.Storage.Buffering;

/// <summary>What the uploader does with one buffered object, as decided by <see cref="BufferedStore.Gate"/>.</summary>
public enum BufferDecision
{
    /// <summary>Upload it to the primary store now.</summary>
    Upload,

    /// <summary>Leave it buffered and ask again later (e.g. this writer is not the one that may write now).</summary>
    Wait,

    /// <summary>Delete it from the buffer without uploading (e.g. the primary store already holds what it covers).</summary>
    Discard,
}

/// <summary>
/// A store in front of another (the primary) that keeps writing when the primary cannot be reached: every object is
/// first committed durably to a local buffer directory, then uploaded to the primary — at once when nothing is queued,
/// else by <see cref="RunUploaderAsync"/> in key order, with backoff while the primary is down. An object is removed
/// from the buffer only after the primary has committed it, so a process restart loses nothing: the objects still in
/// the directory are queued again on open.
/// </summary>
/// <remarks>
/// The buffer is bounded: a commit that finds the primary down and would take the buffer past its limit fails with a
/// <see cref="StoreException"/> (and leaves nothing behind), so the caller's own retry applies. Reads and listings see
/// the buffered objects as well as the primary's. Key order is upload order, so objects whose keys sort in the order
/// they were written (snapshot keys do, by revision) reach the primary without holes.
/// </remarks>
public sealed partial class BufferedStore : ISnapshotStore, IDisposable
{
    private readonly ISnapshotStore _primary;
    private readonly LocalDirectoryStore _buffer;
    private readonly long _maxBytes;
    private readonly ILogger _logger;
    private readonly SortedDictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _uploading = new(1, 1);
    private readonly SemaphoreSlim _wake = new(0);

    private BufferedStore(ISnapshotStore primary, LocalDirectoryStore buffer, long maxBytes, ILogger logger,
        Func<string, CancellationToken, Task<BufferDecision>>? gate)
    {
        Gate = gate;
        _primary = primary;
        _buffer = buffer;
        _maxBytes = maxBytes;
        _logger = logger;
    }

    /// <summary>
    /// Decides, right before each upload, whether the object still belongs in the primary store. Null uploads everything.
    /// </summary>
    public Func<string, CancellationToken, Task<BufferDecision>>? Gate { get; }

    public string Location => _primary.Location;

    /// <summary>The store behind the buffer.</summary>
    public ISnapshotStore Primary => _primary;

    /// <summary>Objects waiting in the buffer for the primary store.</summary>
    public int BufferedObjects
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Bytes waiting in the buffer for the primary store.</summary>
    public long BufferedBytes
    {
        get
        {
            lock (_lock)
            {
                return _pending.Values.Sum(p => p.Size);
            }
        }
    }

    /// <summary>
    /// Opens the buffer in <paramref name="directory"/> (created when missing) and queues what a previous run left there.
    /// </summary>
    /// <param name="maxBytes">Most bytes the buffer holds while the primary is unreachable.</param>
    /// <param name="gate">See <see cref="Gate"/>.</param>
    public static async Task<BufferedStore> OpenAsync(ISnapshotStore primary, string directory, long maxBytes,
        Func<string, CancellationToken, Task<BufferDecision>>? gate = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        var store = new BufferedStore(primary, LocalDirectoryStore.Open(directory), maxBytes, logger ?? NullLogger.Instance, gate);
        await foreach (var item in store._buffer.ListAsync("", cancellationToken))
        {
            store._pending[item.Key] = new Pending(item.Size, Overwrite: false);
        }

        if (store._pending.Count > 0)
        {
            Log.Recovered(store._logger, store._pending.Count, store._pending.Values.Sum(p => p.Size), directory);
        }

        return store;
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var item in _buffer.ListAsync(prefix, cancellationToken))
        {
            seen.Add(item.Key);
            yield return item;
        }

        await foreach (var item in _primary.ListAsync(prefix, cancellationToken))
        {
            if (!seen.Contains(item.Key))
            {
                yield return item;
            }
        }
    }

    public async Task<IStoreWrite> BeginWriteAsync(CancellationToken cancellationToken) =>
        new Write(this, await _buffer.BeginWriteAsync(cancellationToken));

    public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        bool buffered;
        lock (_lock)
        {
            buffered = _pending.ContainsKey(key);
        }

        return buffered ? _buffer.OpenReadAsync(key, cancellationToken) : _primary.OpenReadAsync(key, cancellationToken);
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        await _uploading.WaitAsync(cancellationToken);
        try
        {
            await RemoveBufferedAsync(key, cancellationToken);
        }
        finally
        {
            _uploading.Release();
        }

        await _primary.DeleteAsync(key, cancellationToken);
    }

    /// <summary>
    /// Uploads buffered objects in key order until cancelled: when woken by a commit that could not be uploaded at
    /// once, and again with backoff (1 s to 1 min) while the primary store fails.
    /// </summary>
    public async Task RunUploaderAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (BufferedObjects == 0)
            {
                await _wake.WaitAsync(cancellationToken);
                continue;
            }

            try
            {
                var outcome = await DrainAsync(cancellationToken);
                failures = outcome == BufferDecision.Wait ? failures : 0;
                if (outcome == BufferDecision.Wait)
                {
                    await WaitOrWakeAsync(TimeSpan.FromSeconds(1), cancellationToken);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failures++;
                Log.UploadFailed(_logger, BufferedObjects, ex.Message);
                await WaitOrWakeAsync(Backoff.Jittered(failures, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)), cancellationToken);
            }
        }
    }

    /// <summary>
    /// Uploads every buffered object in key order, once; stops at the first that must wait. Returns
    /// <see cref="BufferDecision.Wait"/> when one had to, else <see cref="BufferDecision.Upload"/>.
    /// </summary>
    /// <exception cref="LifeboatException">The primary store failed; what is left stays buffered.</exception>
    public async Task<BufferDecision> DrainAsync(CancellationToken cancellationToken)
    {
        while (NextPending() is { } key)
        {
            if (await UploadAsync(key, inline: false, cancellationToken) is (BufferDecision.Wait, _))
            {
                return BufferDecision.Wait;
            }
        }

        return BufferDecision.Upload;
    }

    public void Dispose()
    {
        _uploading.Dispose();
        _wake.Dispose();
    }

    private string? NextPending()
    {
        lock (_lock)
        {
            return _pending.Count == 0 ? null : _pending.First().Key;
        }
    }

    private async Task WaitOrWakeAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(delay);
        try
        {
            await _wake.WaitAsync(timer.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Commits a write made to the buffer: durable locally first, then uploaded or queued.</summary>
    private async Task<StoredObject> CommitAsync(IStoreWrite spooled, string key, bool overwrite, CancellationToken cancellationToken)
    {
        StoreKey.Validate(key);
        var local = await spooled.CommitAsync(key, overwrite, cancellationToken);
        bool queueWasEmpty;
        lock (_lock)
        {
            queueWasEmpty = _pending.Count == 0;
            _pending[key] = new Pending(local.Size, overwrite);
        }

        Exception? failure = null;
        if (queueWasEmpty)
        {
            try
            {
                if (await UploadAsync(key, inline: true, cancellationToken) is (BufferDecision.Upload, { } uploaded))
                {
                    return uploaded;
                }
            }
            catch (StoreException ex) when (ex.Kind == StoreErrorKind.AlreadyExists)
            {
                await RemoveBufferedAsync(key, CancellationToken.None);
                throw;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failure = ex;
            }
        }

        var buffered = BufferedBytes;
        if (buffered > _maxBytes)
        {
            await RemoveBufferedAsync(key, CancellationToken.None);
            throw new StoreException(StoreErrorKind.Unavailable,
                $"{_primary.Location} cannot be reached and the local buffer is full ({buffered - local.Size:N0} of {_maxBytes:N0} bytes): {failure?.Message ?? "earlier objects are still waiting"}",
                "bring the store back, or give the buffer more room (--buffer-max-bytes)", failure);
        }

        Log.Buffered(_logger, key, local.Size, BufferedObjects, buffered, failure?.Message ?? "earlier objects are still waiting");
        _wake.Release();
        return local;
    }

    /// <summary>Uploads one buffered object (or discards it, or leaves it, as <see cref="Gate"/> says).</summary>
    /// <param name="inline">True when the commit that buffered it is still waiting: a key that exists is then its caller's error.</param>
    private async Task<(BufferDecision, StoredObject?)> UploadAsync(string key, bool inline, CancellationToken cancellationToken)
    {
        await _uploading.WaitAsync(cancellationToken);
        try
        {
            Pending pending;
            lock (_lock)
            {
                if (!_pending.TryGetValue(key, out pending))
                {
                    return (BufferDecision.Discard, null); // deleted meanwhile
                }
            }

            var decision = Gate is { } gate ? await gate(key, cancellationToken) : BufferDecision.Upload;
            if (decision == BufferDecision.Wait)
            {
                return (decision, null);
            }

            if (decision == BufferDecision.Discard)
            {
                Log.Discarded(_logger, key);
                await RemoveBufferedAsync(key, cancellationToken);
                return (decision, null);
            }

            StoredObject stored;
            try
            {
                await using var source = await _buffer.OpenReadAsync(key, cancellationToken);
                await using var write = await _primary.BeginWriteAsync(cancellationToken);
                await source.CopyToAsync(write.Content, cancellationToken);
                stored = await write.CommitAsync(key, pending.Overwrite, cancellationToken);
            }
            catch (StoreException ex) when (ex.Kind == StoreErrorKind.AlreadyExists && !inline)
            {
                // An earlier upload committed and the process stopped before the buffer copy was removed.
                var existing = await _primary.ListAsync(key, cancellationToken).FirstOrDefaultAsync(o => o.Key == key, cancellationToken);
                if (existing is null || existing.Size != pending.Size)
                {
                    throw new StoreException(StoreErrorKind.AlreadyExists,
                        $"{key} is in the buffer ({pending.Size:N0} bytes) and differs from the object the store already has ({existing?.Size:N0} bytes)",
                        $"compare the two and remove one; the buffered copy is in {_buffer.Location}", ex);
                }

                stored = existing;
            }

            await RemoveBufferedAsync(key, cancellationToken);
            Log.Uploaded(_logger, key, stored.Size);
            return (BufferDecision.Upload, stored);
        }
        finally
        {
            _uploading.Release();
        }
    }

    private async Task RemoveBufferedAsync(string key, CancellationToken cancellationToken)
    {
        await _buffer.DeleteAsync(key, cancellationToken);
        lock (_lock)
        {
            _pending.Remove(key);
        }
    }

    private readonly record struct Pending(long Size, bool Overwrite);

    private sealed class Write(BufferedStore owner, IStoreWrite spooled) : IStoreWrite
    {
        public Stream Content => spooled.Content;

        public Task<StoredObject> CommitAsync(string key, bool overwrite, CancellationToken cancellationToken) =>
            owner.CommitAsync(spooled, key, overwrite, cancellationToken);

        public ValueTask DisposeAsync() => spooled.DisposeAsync();
    }

    private static partial class Log
    {
        [LoggerMessage(4001, LogLevel.Warning, "{Key} ({Size} bytes) is kept in the local buffer ({Objects} objects, {Bytes} bytes waiting) until the store takes it: {Reason}")]
        public static partial void Buffered(ILogger logger, string key, long size, int objects, long bytes, string reason);

        [LoggerMessage(4002, LogLevel.Information, "Uploaded buffered {Key} ({Size} bytes) to the store")]
        public static partial void Uploaded(ILogger logger, string key, long size);

        [LoggerMessage(4003, LogLevel.Warning, "Upload of buffered objects failed ({Objects} waiting); retrying: {Reason}")]
        public static partial void UploadFailed(ILogger logger, int objects, string reason);

        [LoggerMessage(4004, LogLevel.Warning, "Buffered {Key} is not uploaded: the store already holds what it covers")]
        public static partial void Discarded(ILogger logger, string key);

        [LoggerMessage(4005, LogLevel.Information, "{Objects} objects ({Bytes} bytes) left in the buffer {Directory} by an earlier run are queued for upload")]
        public static partial void Recovered(ILogger logger, int objects, long bytes, string directory);
    }
}
