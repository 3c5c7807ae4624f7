using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Lifeboat.Core.Errors;
using Lifeboat.Core.IO;
using Lifeboat.Core.Storage;

namespace Lifeboat.Storage.S3;

/// <summary>One object being written to an <see cref="S3Store"/>: see the store's remarks for the protocol.</summary>
internal sealed class S3Write : WriteOnlyStream, IStoreWrite
{
    private readonly S3Store _store;
    private readonly S3StoreOptions _options;
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly SemaphoreSlim _slots;
    private readonly Stack<byte[]> _free = new();
    private readonly List<Task<PartETag>> _parts = [];
    private readonly CancellationTokenSource _abort = new();
    private byte[] _current;
    private int _filled;
    private long _length;
    private string? _tempKey;
    private string? _uploadId;
    private bool _uploadCompleted;
    private volatile Exception? _failure;
    private bool _done;

    public S3Write(S3Store store)
    {
        _store = store;
        _options = store.Options;
        _slots = new SemaphoreSlim(_options.Parallelism, _options.Parallelism);
        _current = new byte[_options.PartSize];
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
        var fullKey = _options.Prefix + key;
        var hash = Convert.ToHexStringLower(_sha.GetHashAndReset());
        StoredObject stored;
        if (_uploadId is null)
        {
            stored = await PutSingleAsync(key, fullKey, overwrite, hash, cancellationToken);
        }
        else
        {
            if (_filled > 0)
            {
                await SubmitCurrentAsync(cancellationToken);
            }

            var etags = await AwaitPartsAsync();
            await _store.RetryAsync("complete the upload", () => _store.Client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _options.Bucket,
                Key = _tempKey,
                UploadId = _uploadId,
                PartETags = etags,
            }, cancellationToken), cancellationToken);
            _uploadCompleted = true;
            await RefuseExistingAsync(key, fullKey, overwrite, cancellationToken);
            await CopyIntoPlaceAsync(fullKey, hash, cancellationToken);
            _uploadCompleted = false;
            await DeleteTempQuietlyAsync(); // the object is in place: a leftover only costs space until the stale clean-up
            stored = new StoredObject(key, _length, _store.Now);
        }

        _done = true;
        return stored;
    }

    private async Task<StoredObject> PutSingleAsync(string key, string fullKey, bool overwrite, string hash, CancellationToken cancellationToken)
    {
        await RefuseExistingAsync(key, fullKey, overwrite, cancellationToken);
        await _store.RetryAsync($"write {key}", () =>
        {
            var request = new PutObjectRequest // afresh for every attempt: the SDK closes the body it sent
            {
                BucketName = _options.Bucket,
                Key = fullKey,
                InputStream = new MemoryStream(_current, 0, _filled, writable: false),
                AutoCloseStream = true,
                UseChunkEncoding = false,
            };
            request.Metadata.Add(S3Store.HashMetadata, hash);
            return _store.Client.PutObjectAsync(request, cancellationToken);
        }, cancellationToken, key);
        return new StoredObject(key, _length, _store.Now);
    }

    /// <summary>
    /// A HEAD before the final step: S3 has no portable "create only if absent" (If-None-Match on writes is recent
    /// and not served by every S3-compatible server), and snapshot keys carry revisions and times, so two writers
    /// racing for one key within that window is not a case that arises.
    /// </summary>
    private async Task RefuseExistingAsync(string key, string fullKey, bool overwrite, CancellationToken cancellationToken)
    {
        if (!overwrite && await _store.ExistsAsync(fullKey, cancellationToken))
        {
            throw new StoreException(StoreErrorKind.AlreadyExists, $"{key} already exists in {_store.Location}",
                "an object is never replaced without --force");
        }
    }

    private async Task CopyIntoPlaceAsync(string fullKey, string hash, CancellationToken cancellationToken)
    {
        if (_length <= _options.CopyPartThreshold)
        {
            var request = new CopyObjectRequest
            {
                SourceBucket = _options.Bucket,
                SourceKey = _tempKey,
                DestinationBucket = _options.Bucket,
                DestinationKey = fullKey,
                MetadataDirective = S3MetadataDirective.REPLACE,
            };
            request.Metadata.Add(S3Store.HashMetadata, hash);
            await _store.RetryAsync("copy the upload into place", () => _store.Client.CopyObjectAsync(request, cancellationToken), cancellationToken);
            return;
        }

        // Beyond what one server-side copy may produce: a multipart upload whose parts are copied from the temporary object.
        var init = new InitiateMultipartUploadRequest { BucketName = _options.Bucket, Key = fullKey };
        init.Metadata.Add(S3Store.HashMetadata, hash);
        var upload = await _store.GuardAsync("start copying the upload into place", () => _store.Client.InitiateMultipartUploadAsync(init, cancellationToken),
            cancellationToken);
        try
        {
            var partSize = Math.Max(_options.CopyPartThreshold / 2, S3StoreOptions.MinimumPartSize);
            var etags = new List<PartETag>();
            var number = 1;
            for (long first = 0; first < _length; first += partSize, number++)
            {
                var copy = new CopyPartRequest
                {
                    SourceBucket = _options.Bucket,
                    SourceKey = _tempKey,
                    DestinationBucket = _options.Bucket,
                    DestinationKey = fullKey,
                    UploadId = upload.UploadId,
                    PartNumber = number,
                    FirstByte = first,
                    LastByte = Math.Min(first + partSize, _length) - 1,
                };
                var part = await _store.RetryAsync("copy a part into place", () => _store.Client.CopyPartAsync(copy, cancellationToken), cancellationToken);
                etags.Add(new PartETag(number, part.ETag));
            }

            await _store.GuardAsync("finish copying the upload into place", () => _store.Client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _options.Bucket,
                Key = fullKey,
                UploadId = upload.UploadId,
                PartETags = etags,
            }, cancellationToken), cancellationToken);
        }
        catch
        {
            await AbortQuietlyAsync(fullKey, upload.UploadId);
            throw;
        }
    }

    /// <summary>Hands the full buffer to an upload task; waits while <see cref="S3StoreOptions.Parallelism"/> parts are in flight.</summary>
    private async Task SubmitCurrentAsync(CancellationToken cancellationToken)
    {
        if (_uploadId is null)
        {
            _tempKey = _store.NewTempKey();
            var started = await _store.RetryAsync("start an upload", () => _store.Client.InitiateMultipartUploadAsync(_options.Bucket, _tempKey, cancellationToken),
                cancellationToken);
            _uploadId = started.UploadId;
        }

        await _slots.WaitAsync(cancellationToken);
        ThrowIfFailed();
        var buffer = _current;
        var length = _filled;
        var number = _parts.Count + 1;
        lock (_free)
        {
            _current = _free.Count > 0 ? _free.Pop() : new byte[_options.PartSize];
        }

        _filled = 0;
        _parts.Add(Task.Run(() => UploadPartAsync(buffer, length, number), CancellationToken.None));
    }

    private async Task<PartETag> UploadPartAsync(byte[] buffer, int length, int number)
    {
        try
        {
            var response = await _store.RetryAsync($"upload part {number}", () => _store.Client.UploadPartAsync(new UploadPartRequest
            {
                BucketName = _options.Bucket,
                Key = _tempKey,
                UploadId = _uploadId,
                PartNumber = number,
                InputStream = new MemoryStream(buffer, 0, length, writable: false), // afresh for every attempt
                PartSize = length,
                UseChunkEncoding = false,
            }, _abort.Token), _abort.Token);
            return new PartETag(number, response.ETag);
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

    private async Task<List<PartETag>> AwaitPartsAsync()
    {
        try
        {
            return [.. await Task.WhenAll(_parts)];
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

    private Task AbortQuietlyAsync(string key, string uploadId) =>
        BestEffortAsync(key, timeout => _store.Client.AbortMultipartUploadAsync(_options.Bucket, key, uploadId, timeout));

    private Task DeleteTempQuietlyAsync() =>
        BestEffortAsync(_tempKey!, timeout => _store.Client.DeleteObjectAsync(_options.Bucket, _tempKey, timeout));

    /// <summary>Clean-up that must not hide the failure being handled: bounded in time, logged when it fails.</summary>
    private async Task BestEffortAsync(string key, Func<CancellationToken, Task> action)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await action(timeout.Token);
        }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or IOException or OperationCanceledException)
        {
            S3Log.AbortFailed(_store.Logger, key, ex.Message);
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
                // the upload is being abandoned; its failures were reported to the writer already
            }

            if (_uploadId is not null && !_uploadCompleted)
            {
                await AbortQuietlyAsync(_tempKey!, _uploadId);
            }
            else if (_uploadCompleted)
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
