using System.Buffers.Binary;
using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs.Models;
using Lifeboat.Core.Errors;
using Lifeboat.Core.IO;
using Lifeboat.Core.Storage;

namespace Lifeboat.Storage.Azure;

/// <summary>One object being written to an <see cref="AzureBlobStore"/>: see the store's remarks for the protocol.</summary>
internal sealed class AzureBlobWrite : WriteOnlyStream, IStoreWrite
{
    private readonly AzureBlobStore _store;
    private readonly AzureBlobStoreOptions _options;
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly SemaphoreSlim _slots;
    private readonly Stack<byte[]> _free = new();
    private readonly List<Task<string>> _blocks = [];
    private readonly CancellationTokenSource _abort = new();
    private byte[] _current;
    private int _filled;
    private long _length;
    private string? _tempName;
    private bool _tempCommitted;
    private volatile Exception? _failure;
    private bool _done;

    public AzureBlobWrite(AzureBlobStore store)
    {
        _store = store;
        _options = store.Options;
        _slots = new SemaphoreSlim(_options.Parallelism, _options.Parallelism);
        _current = new byte[_options.BlockSize];
    }

    public Stream Content => this;

    public override bool CanWrite => !_done;

    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

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
                await StageCurrentAsync(cancellationToken);
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        // Synchronous writers block only when a block is handed over.
        var copy = buffer.ToArray();
#pragma warning disable VSTHRD002 // a synchronous Stream API has no other way; blocks upload on the thread pool
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
        var fullName = _options.Prefix + key;
        var metadata = new Dictionary<string, string> { [AzureBlobStore.HashMetadata] = Convert.ToHexStringLower(_sha.GetHashAndReset()) };
        var conditions = overwrite ? null : new BlobRequestConditions { IfNoneMatch = ETag.All };
        if (_tempName is null)
        {
            // One block or less: straight to its key, refused by the service itself if the key exists.
            await _store.GuardAsync($"write {key}", () => _store.Blob(fullName).UploadAsync(new MemoryStream(_current, 0, _filled, writable: false),
                new BlobUploadOptions { Metadata = metadata, Conditions = conditions }, cancellationToken), cancellationToken, key);
        }
        else
        {
            if (_filled > 0)
            {
                await StageCurrentAsync(cancellationToken);
            }

            var ids = await AwaitBlocksAsync();
            var temp = _store.Blob(_tempName);
            await _store.GuardAsync("commit the upload", () => temp.CommitBlockListAsync(ids, new CommitBlockListOptions { Metadata = metadata },
                cancellationToken), cancellationToken);
            _tempCommitted = true;
            var copy = await _store.GuardAsync($"write {key}", () => _store.Blob(fullName).StartCopyFromUriAsync(temp.Uri,
                new BlobCopyFromUriOptions { Metadata = metadata, DestinationConditions = conditions }, cancellationToken), cancellationToken, key);
            await _store.GuardAsync($"write {key}", async () => await copy.WaitForCompletionAsync(cancellationToken), cancellationToken, key);
            await DeleteTempQuietlyAsync(); // the object is in place: a leftover only costs space until the stale clean-up
        }

        _done = true;
        return new StoredObject(key, _length, _store.Now);
    }

    private async Task StageCurrentAsync(CancellationToken cancellationToken)
    {
        _tempName ??= _store.NewTempName();
        await _slots.WaitAsync(cancellationToken);
        ThrowIfFailed();
        var buffer = _current;
        var length = _filled;
        var number = _blocks.Count;
        lock (_free)
        {
            _current = _free.Count > 0 ? _free.Pop() : new byte[_options.BlockSize];
        }

        _filled = 0;
        _blocks.Add(Task.Run(() => StageAsync(buffer, length, number), CancellationToken.None));
    }

    private async Task<string> StageAsync(byte[] buffer, int length, int number)
    {
        try
        {
            // Block ids must all have the same length: the block's number, 8 bytes, base64.
            var id = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(id, number);
            var blockId = Convert.ToBase64String(id);
            await _store.GuardAsync($"upload block {number}", () => _store.Blob(_tempName!).StageBlockAsync(blockId,
                new MemoryStream(buffer, 0, length, writable: false), cancellationToken: _abort.Token), _abort.Token);
            return blockId;
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

    private async Task<string[]> AwaitBlocksAsync()
    {
        try
        {
            return await Task.WhenAll(_blocks);
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
                : new StoreException(StoreErrorKind.Unavailable, $"uploading to {_store.Location} failed: {failure.Message}", "try again", failure);
        }
    }

    /// <summary>Removes the temporary blob; bounded in time, and logged rather than thrown when it fails.</summary>
    private async Task DeleteTempQuietlyAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _store.Container.DeleteBlobIfExistsAsync(_tempName, cancellationToken: timeout.Token);
        }
        catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or IOException or OperationCanceledException)
        {
            AzureLog.StaleCleanupFailed(_store.Logger, $"{_tempName}: {ex.Message}");
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
                await Task.WhenAll(_blocks);
            }
            catch (Exception)
            {
                // the write is being abandoned; its failures were reported to the writer already
            }

            // Staged blocks that were never committed are invisible, and the service discards them after a week.
            if (_tempCommitted)
            {
                await DeleteTempQuietlyAsync();
            }
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

        base.Dispose(disposing);
    }
}
