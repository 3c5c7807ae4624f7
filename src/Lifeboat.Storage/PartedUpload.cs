using System.Security.Cryptography;
using Lifeboat.Core.Errors;
using Lifeboat.Core.IO;
using Lifeboat.Core.Storage;

namespace Lifeboat.Storage;

/// <summary>
/// One object being written to an object store as parts uploaded while the next fills: the pipeline the S3, Azure
/// and GCS writes share. Bytes fill a part buffer and the SHA-256; a full buffer is handed to an upload task and
/// writing goes on into a free one, with at most <c>parallelism</c> parts in flight, so memory is bounded by
/// (parallelism + 1) × part size whatever the object's size. The first failed part fails the next write or the commit.
/// </summary>
/// <remarks>
/// The store supplies the steps that differ: starting the parts (<see cref="BeginPartsAsync"/>), uploading one
/// (<see cref="UploadPartAsync"/>), making the object visible under its key (<see cref="CommitWholeAsync"/> for an
/// object that never filled a part, <see cref="CommitPartsAsync"/> otherwise), and cleaning up after a write that
/// was abandoned or failed before it committed (<see cref="AbandonAsync"/>).
/// </remarks>
/// <typeparam name="TPart">What the service answers for an uploaded part and needs again at the end (an ETag, a block id).</typeparam>
internal abstract class PartedUpload<TPart> : WriteOnlyStream, IStoreWrite
{
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly SemaphoreSlim _slots;
    private readonly Stack<byte[]> _free = new();
    private readonly List<Task<TPart>> _parts = [];
    private readonly CancellationTokenSource _abort = new();
    private readonly int _partSize;
    private byte[] _current;
    private int _filled;
    private long _length;
    private volatile Exception? _failure;
    private bool _done;

    protected PartedUpload(ObjectStore store, int partSize, int parallelism)
    {
        Store = store;
        _partSize = partSize;
        _slots = new SemaphoreSlim(parallelism, parallelism);
        _current = new byte[partSize];
    }

    protected ObjectStore Store { get; }

    /// <summary>Whether any part was handed over (the object is larger than one part).</summary>
    protected bool PartsStarted { get; private set; }

    public Stream Content => this;

    public override bool CanWrite => !_done;

    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    /// <summary>Called once, before the first part is handed over (to start a multipart upload, pick a temporary name).</summary>
    protected abstract Task BeginPartsAsync(CancellationToken cancellationToken);

    /// <summary>Uploads part <paramref name="number"/> (from 1) of <paramref name="length"/> bytes; runs on the thread pool.</summary>
    /// <param name="buffer">Valid until the task ends; a retry reads it again from the start.</param>
    protected abstract Task<TPart> UploadPartAsync(byte[] buffer, int length, int number, CancellationToken cancellationToken);

    /// <summary>Writes an object that never filled a part (its <paramref name="length"/> bytes at the start of <paramref name="buffer"/>) straight to <paramref name="key"/>.</summary>
    protected abstract Task CommitWholeAsync(string key, byte[] buffer, int length, string sha256, bool overwrite, CancellationToken cancellationToken);

    /// <summary>Makes the uploaded parts, in order, visible as <paramref name="key"/>.</summary>
    protected abstract Task CommitPartsAsync(string key, IReadOnlyList<TPart> parts, string sha256, bool overwrite, CancellationToken cancellationToken);

    /// <summary>After a write that did not commit, once its part tasks have ended: removes what it left (best effort).</summary>
    protected abstract Task AbandonAsync();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_done, this);
        ThrowIfFailed();
        while (!buffer.IsEmpty)
        {
            var n = Math.Min(buffer.Length, _current.Length - _filled);
            buffer.Span[..n].CopyTo(_current.AsSpan(_filled));
            _sha.AppendData(buffer.Span[..n]);
            _filled += n;
            _length += n;
            buffer = buffer[n..];
            if (_filled == _current.Length)
            {
                await SubmitCurrentAsync(cancellationToken);
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        // Synchronous writers (a Stream wrapper disposed without DisposeAsync) block only when a part is handed over.
        var copy = buffer.ToArray();
#pragma warning disable VSTHRD002 // a synchronous Stream API has no other way; parts upload on the thread pool
        WriteAsync(copy, CancellationToken.None).AsTask().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<StoredObject> CommitAsync(string key, bool overwrite, CancellationToken cancellationToken)
    {
        StoreKey.Validate(key);
        ObjectDisposedException.ThrowIf(_done, this);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfFailed();
        var hash = Convert.ToHexStringLower(_sha.GetHashAndReset());
        if (!PartsStarted)
        {
            await CommitWholeAsync(key, _current, _filled, hash, overwrite, cancellationToken);
        }
        else
        {
            if (_filled > 0)
            {
                await SubmitCurrentAsync(cancellationToken);
            }

            await CommitPartsAsync(key, await AwaitPartsAsync(), hash, overwrite, cancellationToken);
        }

        _done = true;
        return new StoredObject(key, _length, Store.Now);
    }

    /// <summary>Hands the full buffer to an upload task; waits while the parallelism's parts are in flight.</summary>
    private async Task SubmitCurrentAsync(CancellationToken cancellationToken)
    {
        if (!PartsStarted)
        {
            await BeginPartsAsync(cancellationToken);
            PartsStarted = true;
        }

        await _slots.WaitAsync(cancellationToken);
        ThrowIfFailed();
        var buffer = _current;
        var length = _filled;
        var number = _parts.Count + 1;
        lock (_free)
        {
            _current = _free.Count > 0 ? _free.Pop() : new byte[_partSize];
        }

        _filled = 0;
        _parts.Add(Task.Run(() => RunPartAsync(buffer, length, number), CancellationToken.None));
    }

    private async Task<TPart> RunPartAsync(byte[] buffer, int length, int number)
    {
        try
        {
            return await UploadPartAsync(buffer, length, number, _abort.Token);
        }
        catch (Exception ex)
        {
            _failure ??= ex;
            throw;
        }
        finally
        {
            lock (_free)
            {
                _free.Push(buffer);
            }

            _slots.Release();
        }
    }

    private async Task<TPart[]> AwaitPartsAsync()
    {
        try
        {
            return await Task.WhenAll(_parts);
        }
        catch (Exception) when (_failure is not null)
        {
            ThrowIfFailed();
            throw;
        }
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw failure is StoreException
                ? failure
                : new StoreException(StoreErrorKind.Unavailable, $"uploading to {Store.Location} failed: {failure.Message}", "try again", failure);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_done)
        {
            _done = true;
            await _abort.CancelAsync();
            try
            {
                await Task.WhenAll(_parts);
            }
            catch (Exception)
            {
                // the write is being abandoned; its failures were reported to the writer already
            }

            await AbandonAsync();
        }

        _sha.Dispose();
        _abort.Dispose();
        _slots.Dispose();
        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_done)
        {
#pragma warning disable VSTHRD002 // Dispose without DisposeAsync: abort synchronously rather than leak the upload
            DisposeAsync().AsTask().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
            return;
        }

        if (disposing)
        {
            _sha.Dispose();
            _abort.Dispose();
            _slots.Dispose();
        }

        base.Dispose(disposing);
    }
}
