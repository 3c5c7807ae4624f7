using System.Net;
using System.Runtime.CompilerServices;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Scheduling;
using Lifeboat.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeboat.Storage.S3;

/// <summary>
/// A store in an S3 bucket (AWS or any S3-compatible service), under an optional key prefix.
/// </summary>
/// <remarks>
/// <para>Writes stream: bytes fill a part buffer, full parts are uploaded by a multipart upload while the next fills,
/// with at most <see cref="S3StoreOptions.Parallelism"/> parts in flight, so memory is bounded by
/// (parallelism + 1) × part size whatever the object's size, and nothing is spooled to disk.</para>
/// <para>An object's key is only known at commit (a snapshot's revision is read from its own bytes), while a
/// multipart upload needs its key when it starts. So an object larger than one part is uploaded under
/// <c>&lt;prefix&gt;.tmp/&lt;id&gt;</c> (a key the listing never shows), completed, copied server-side to its key and
/// the temporary object deleted. An object that fits one part is put directly. Either way the object appears
/// complete or not at all, and its SHA-256, known only at the end, is written with it as metadata
/// (<c>x-amz-meta-lifeboat-sha256</c>) and checked when it is read back to its end.</para>
/// <para>A failed or abandoned write aborts its multipart upload. Uploads and temporary objects older than
/// <see cref="S3StoreOptions.StaleUploadAge"/> (left by a crash) are removed the first time a process writes, where
/// the server can list them.</para>
/// </remarks>
public sealed class S3Store : ObjectStore, ISnapshotStore, IDisposable
{
    internal const string HashMetadata = "x-amz-meta-lifeboat-sha256";
    internal const string TempSegment = ".tmp/";

    private readonly IAmazonS3 _client;

    private S3Store(S3StoreOptions options, IAmazonS3 client, TimeProvider time, ILogger logger)
        : base(time, logger)
    {
        Options = options;
        _client = client;
    }

    public S3StoreOptions Options { get; }

    public override string Location => $"s3://{Options.Bucket}/{Options.Prefix}";

    internal IAmazonS3 Client => _client;

    internal string EndpointText => Options.Endpoint is { } e ? e.GetLeftPart(UriPartial.Authority) : "AWS S3";

    public static S3Store Open(S3StoreOptions options, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            RetryMode = RequestRetryMode.Standard,
            MaxErrorRetry = options.MaxRetries,
            Timeout = options.RequestTimeout,
            // Many S3-compatible servers do not implement the newer flexible checksums; signing the payload
            // (SigV4's SHA-256 of every request body) already protects it in transit.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        var region = options.Region ?? Environment.GetEnvironmentVariable("AWS_REGION")
            ?? Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION") ?? "us-east-1";
        if (options.Endpoint is { } endpoint)
        {
            config.ServiceURL = endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/');
            config.AuthenticationRegion = region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        var client = options.Credentials is { } credentials ? new AmazonS3Client(credentials, config) : new AmazonS3Client(config);
        client.BeforeRequestEvent += PlainCopySource;
        return new S3Store(options, client, time ?? TimeProvider.System, logger ?? NullLogger.Instance);
    }

    /// <summary>
    /// The SDK escapes the slashes in a copy's source (<c>bucket%2Fkey</c>). S3 accepts that, but some S3-compatible
    /// servers (s3rver among them) only find the source when the slashes are plain, which is what other S3 clients
    /// send and S3 accepts as well. Store keys are <c>[A-Za-z0-9._-/]</c> (<see cref="StoreKey"/>), so nothing else
    /// in them needs escaping. Runs before the request is signed.
    /// </summary>
    private static void PlainCopySource(object sender, RequestEventArgs e)
    {
        const string Header = "x-amz-copy-source";
        if (e is WebServiceRequestEventArgs { Headers: { } headers } && headers.TryGetValue(Header, out var source)
            && source.Contains("%2F", StringComparison.OrdinalIgnoreCase))
        {
            headers[Header] = source.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        }
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        cancellationToken.ThrowIfCancellationRequested();
        await foreach (var o in ObjectsUnderAsync(Options.Prefix + prefix, cancellationToken))
        {
            var key = o.Key[Options.Prefix.Length..];
            if (StoreKey.IsValid(key))
            {
                yield return new StoredObject(key, o.Size ?? 0, ToOffset(o.LastModified));
            }
        }
    }

    /// <summary>Every object in the bucket whose key starts with <paramref name="fullPrefix"/>, page by page.</summary>
    private async IAsyncEnumerable<S3Object> ObjectsUnderAsync(string fullPrefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = new ListObjectsV2Request { BucketName = Options.Bucket, Prefix = fullPrefix };
        do
        {
            var page = await GuardAsync("list the store", () => _client.ListObjectsV2Async(request, cancellationToken), cancellationToken);
            foreach (var o in page.S3Objects ?? [])
            {
                yield return o;
            }

            request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (request.ContinuationToken is not null);
    }

    public async Task<IStoreWrite> BeginWriteAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await CheckBeforeFirstWriteAsync(cancellationToken);
        return new S3Write(this);
    }

    internal override Task ProbeAsync(CancellationToken cancellationToken) =>
        GuardAsync("reach the store", () => _client.ListObjectsV2Async(
            new ListObjectsV2Request { BucketName = Options.Bucket, Prefix = Options.Prefix, MaxKeys = 1 }, cancellationToken), cancellationToken);

    public async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        StoreKey.Validate(key);
        var response = await GuardAsync($"read {key}", () => _client.GetObjectAsync(Options.Bucket, Options.Prefix + key, cancellationToken),
            cancellationToken, key);
        var expected = response.Metadata[HashMetadata];
        // The SDK checks the MD5 of objects uploaded in one piece itself; its mismatch is the same finding as the hash's.
        return new VerifyingReadStream(response.ResponseStream, response.ContentLength, key, Location, string.IsNullOrEmpty(expected) ? null : expected,
            ex => ex is AmazonClientException && ex.Message.Contains("hash", StringComparison.OrdinalIgnoreCase)
                ? VerifyingReadStream.Altered(key, Location, ex)
                : Translate(ex, $"read {key}", key),
            response);
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        StoreKey.Validate(key);
        await GuardAsync($"delete {key}", () => _client.DeleteObjectAsync(Options.Bucket, Options.Prefix + key, cancellationToken), cancellationToken);
    }

    /// <summary>Whether an object exists under <paramref name="fullKey"/> (a bucket key, prefix included).</summary>
    internal async Task<bool> ExistsAsync(string fullKey, CancellationToken cancellationToken)
    {
        try
        {
            await _client.GetObjectMetadataAsync(Options.Bucket, fullKey, cancellationToken);
            return true;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        catch (Exception ex) when (Translate(ex, $"check whether {fullKey} exists", null) is { } translated)
        {
            throw translated;
        }
    }

    internal string NewTempKey() => $"{Options.Prefix}{TempSegment}{Guid.NewGuid():N}";

    /// <summary>Removes what crashed writers left: temporary objects, and pending uploads where the server lists them.</summary>
    internal override async Task RemoveStaleAsync(CancellationToken cancellationToken)
    {
        var cutoff = Time.GetUtcNow() - Options.StaleUploadAge;
        var tempPrefix = Options.Prefix + TempSegment;
        try
        {
            await foreach (var o in ObjectsUnderAsync(tempPrefix, cancellationToken))
            {
                if (ToOffset(o.LastModified) < cutoff)
                {
                    await _client.DeleteObjectAsync(Options.Bucket, o.Key, cancellationToken);
                    S3Log.StaleRemoved(Logger, "temporary object", o.Key);
                }
            }
        }
        catch (Exception ex) when (ex is StoreException or AmazonServiceException or HttpRequestException or IOException)
        {
            S3Log.StaleCleanupFailed(Logger, "temporary objects", ex.Message);
        }

        try
        {
            var request = new ListMultipartUploadsRequest { BucketName = Options.Bucket, Prefix = tempPrefix };
            do
            {
                var page = await _client.ListMultipartUploadsAsync(request, cancellationToken);
                foreach (var upload in page.MultipartUploads ?? [])
                {
                    if (ToOffset(upload.Initiated) < cutoff)
                    {
                        await _client.AbortMultipartUploadAsync(Options.Bucket, upload.Key, upload.UploadId, cancellationToken);
                        S3Log.StaleRemoved(Logger, "multipart upload", upload.Key);
                    }
                }

                request.KeyMarker = page.IsTruncated == true ? page.NextKeyMarker : null;
                request.UploadIdMarker = page.IsTruncated == true ? page.NextUploadIdMarker : null;
            }
            while (request.KeyMarker is not null);
        }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or IOException)
        {
            // s3rver and some other servers cannot list pending uploads; a bucket lifecycle rule then has to.
            S3Log.StaleCleanupFailed(Logger, "pending multipart uploads", ex.Message);
        }
    }

    /// <summary>
    /// <see cref="ObjectStore.GuardAsync{T}"/>, retried with jittered backoff while the failure may pass (the server restarting,
    /// a network cut), for up to <see cref="S3StoreOptions.RetryWindow"/>. For idempotent steps only.
    /// </summary>
    internal async Task<T> RetryAsync<T>(string action, Func<Task<T>> body, CancellationToken cancellationToken, string? key = null)
    {
        var started = Time.GetTimestamp();
        for (var failures = 0; ; failures++)
        {
            try
            {
                return await GuardAsync(action, body, cancellationToken, key);
            }
            catch (StoreException ex) when (ex.IsTransient && Time.GetElapsedTime(started) < Options.RetryWindow)
            {
                var wait = Backoff.Jittered(failures, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
                S3Log.Retrying(Logger, action, wait.TotalSeconds, ex.Message);
                await Task.Delay(wait, Time, cancellationToken);
            }
        }
    }

    internal override StoreException? Translate(Exception ex, string action, string? key)
    {
        var where = $"{Location} ({EndpointText})";
        switch (ex)
        {
            case StoreException:
                return null;
            case AmazonS3Exception s3 when s3.ErrorCode == "NoSuchBucket":
                return new StoreException(StoreErrorKind.InvalidLocation, $"cannot {action}: bucket '{Options.Bucket}' does not exist at {EndpointText}",
                    "create the bucket, or fix the bucket in --store and --s3-endpoint", ex);
            case AmazonS3Exception s3 when s3.ErrorCode == "NoSuchKey" || (key is not null && s3.StatusCode == HttpStatusCode.NotFound):
                return new StoreException(StoreErrorKind.NotFound, $"{key} does not exist in {Location}",
                    "list the store's snapshots to see what it holds", ex);
            case AmazonS3Exception s3 when s3.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized
                || s3.ErrorCode is "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "AccessDenied" or "ExpiredToken" or "InvalidToken":
                return new StoreException(StoreErrorKind.AccessDenied,
                    $"cannot {action}: {where} refused the credentials ({s3.ErrorCode ?? s3.StatusCode.ToString()})",
                    "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the files in --s3-credentials-dir, and that they may use this bucket", ex);
            case AmazonS3Exception s3 when s3.StatusCode == HttpStatusCode.PreconditionFailed:
                return new StoreException(StoreErrorKind.AlreadyExists, $"{key} already exists in {Location}",
                    "an object is never replaced without --force", ex);
            case AmazonS3Exception s3 when s3.ErrorCode == "EntityTooSmall":
                return new StoreException(StoreErrorKind.Rejected, $"cannot {action}: {where} refused a part as too small",
                    $"use --s3-part-size of at least {S3StoreOptions.MinimumPartSize >> 20} MiB", ex);
            case AmazonS3Exception s3 when (int)s3.StatusCode >= 500 || s3.ErrorCode is "SlowDown" or "RequestTimeout" or "InternalError":
                return new StoreException(StoreErrorKind.Unavailable, $"cannot {action}: {where} answered {(int)s3.StatusCode} {s3.ErrorCode}",
                    "the server may be overloaded or restarting; try again", ex);
            case AmazonS3Exception s3:
                return new StoreException(StoreErrorKind.Rejected, $"cannot {action}: {where} answered {(int)s3.StatusCode} {s3.ErrorCode}: {s3.Message}",
                    "check --store, --s3-endpoint, --s3-region and --s3-force-path-style", ex);
            case AmazonClientException c when c.Message.Contains("credential", StringComparison.OrdinalIgnoreCase):
                return new StoreException(StoreErrorKind.AccessDenied, $"cannot {action}: no S3 credentials found",
                    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --s3-credentials-dir", ex);
        }

        if (Unreachable(ex) is { } network)
        {
            return new StoreException(StoreErrorKind.Unavailable, $"cannot {action}: cannot reach {EndpointText}: {network.Message}",
                "check --s3-endpoint and that the server is up", ex);
        }

        return ex is AmazonServiceException service
            ? new StoreException(StoreErrorKind.Unavailable, $"cannot {action}: {where}: {service.Message}", "try again", ex)
            : null;
    }

    internal static DateTimeOffset ToOffset(DateTime? t) =>
        t is { } v ? new DateTimeOffset(DateTime.SpecifyKind(v.ToUniversalTime(), DateTimeKind.Utc)) : DateTimeOffset.UnixEpoch;

    public void Dispose() => _client.Dispose();
}
