using Amazon.S3;
using Amazon.S3.Model;
using Lifeboat.Core.Errors;

namespace Lifeboat.Storage.S3;

/// <summary>One object being written to an <see cref="S3Store"/>: see the store's remarks for the protocol.</summary>
internal sealed class S3Write(S3Store store) : PartedUpload<PartETag>(store, store.Options.PartSize, store.Options.Parallelism)
{
    private readonly S3Store _store = store;
    private readonly S3StoreOptions _options = store.Options;
    private string? _tempKey;
    private string? _uploadId;
    private bool _uploadCompleted;

    protected override async Task BeginPartsAsync(CancellationToken cancellationToken)
    {
        _tempKey = _store.NewTempKey();
        var started = await _store.RetryAsync("start an upload", () => _store.Client.InitiateMultipartUploadAsync(_options.Bucket, _tempKey, cancellationToken),
            cancellationToken);
        _uploadId = started.UploadId;
    }

    protected override async Task<PartETag> UploadPartAsync(byte[] buffer, int length, int number, CancellationToken cancellationToken)
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
        }, cancellationToken), cancellationToken);
        return new PartETag(number, response.ETag);
    }

    protected override async Task CommitWholeAsync(string key, byte[] buffer, int length, string sha256, bool overwrite, CancellationToken cancellationToken)
    {
        var fullKey = _options.Prefix + key;
        await RefuseExistingAsync(key, fullKey, overwrite, cancellationToken);
        await _store.RetryAsync($"write {key}", () =>
        {
            var request = new PutObjectRequest // afresh for every attempt: the SDK closes the body it sent
            {
                BucketName = _options.Bucket,
                Key = fullKey,
                InputStream = new MemoryStream(buffer, 0, length, writable: false),
                AutoCloseStream = true,
                UseChunkEncoding = false,
            };
            request.Metadata.Add(S3Store.HashMetadata, sha256);
            return _store.Client.PutObjectAsync(request, cancellationToken);
        }, cancellationToken, key);
    }

    protected override async Task CommitPartsAsync(string key, IReadOnlyList<PartETag> parts, string sha256, bool overwrite, CancellationToken cancellationToken)
    {
        var fullKey = _options.Prefix + key;
        await _store.RetryAsync("complete the upload", () => _store.Client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = _options.Bucket,
            Key = _tempKey,
            UploadId = _uploadId,
            PartETags = [.. parts],
        }, cancellationToken), cancellationToken);
        _uploadCompleted = true;
        await RefuseExistingAsync(key, fullKey, overwrite, cancellationToken);
        await CopyIntoPlaceAsync(fullKey, sha256, cancellationToken);
        _uploadCompleted = false;
        await DeleteTempQuietlyAsync(); // the object is in place: a leftover only costs space until the stale clean-up
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
        if (Length <= _options.CopyPartThreshold)
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
            for (long first = 0; first < Length; first += partSize, number++)
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
                    LastByte = Math.Min(first + partSize, Length) - 1,
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

    protected override async Task AbandonAsync()
    {
        if (_uploadId is not null && !_uploadCompleted)
        {
            await AbortQuietlyAsync(_tempKey!, _uploadId);
        }
        else if (_uploadCompleted)
        {
            await DeleteTempQuietlyAsync();
        }
    }

    private Task AbortQuietlyAsync(string key, string uploadId) =>
        _store.BestEffortAsync($"abort the upload {key}", timeout => _store.Client.AbortMultipartUploadAsync(_options.Bucket, key, uploadId, timeout));

    private Task DeleteTempQuietlyAsync() =>
        _store.BestEffortAsync($"delete the temporary object {_tempKey}", timeout => _store.Client.DeleteObjectAsync(_options.Bucket, _tempKey, timeout));
}
