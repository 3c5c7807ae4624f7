using System.Net;
using System.Runtime.CompilerServices;
using Google;
using Google.Apis.Auth.OAuth2.Responses;
using Google.Cloud.Storage.V1;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeboat.Storage.Gcs;

/// <summary>A store in a Google Cloud Storage bucket, under an optional prefix, on Google.Cloud.Storage.V1 (the JSON API).</summary>
/// <remarks>
/// <para>Writes stream. An object that fits one chunk (<see cref="GcsStoreOptions.ChunkSize"/>) is uploaded in one
/// request straight to its key. A larger one streams into a resumable upload (one chunk in memory at a time, each
/// chunk retried by the library) of a temporary object <c>&lt;prefix&gt;.tmp/&lt;id&gt;</c>, since a snapshot's key is only
/// known at the end and an upload session is bound to its name from the start. A resumable upload is invisible until
/// its last chunk. The finished temporary object is then composed into its key (a server-side step that copies no
/// data) and deleted.</para>
/// <para>Both the direct upload and the compose carry <c>ifGenerationMatch=0</c> unless overwriting, so the service
/// itself refuses an existing key. The SHA-256 of the bytes is the object's metadata <c>lifeboat-sha256</c>, checked
/// when it is read back to its end; reads are pinned to the generation listed first and resume with a ranged request
/// after a broken connection.</para>
/// </remarks>
public sealed class GcsStore : ObjectStore, ISnapshotStore, IDisposable
{
    internal const string HashMetadata = "lifeboat-sha256";
    internal const string TempSegment = ".tmp/";

    private GcsStore(GcsStoreOptions options, StorageClient client, TimeProvider time, ILogger logger)
        : base(time, logger)
    {
        Options = options;
        Client = client;
    }

    public GcsStoreOptions Options { get; }

    internal StorageClient Client { get; }

    public override string Location => $"gs://{Options.Bucket}/{Options.Prefix}";

    internal string EndpointText => Options.Endpoint?.GetLeftPart(UriPartial.Authority) ?? "storage.googleapis.com";

    /// <exception cref="StoreException">The credentials cannot be read or found.</exception>
    public static GcsStore Open(GcsStoreOptions options, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var builder = new StorageClientBuilder();
        if (options.Endpoint is { } endpoint)
        {
            builder.BaseUri = endpoint.ToString();
        }

        if (options.CredentialsFile is { Length: > 0 } file)
        {
            builder.Credential = GcsKeyFile.Open(file);
        }

        StorageClient client;
        try
        {
            client = builder.Build();
        }
        catch (InvalidOperationException ex)
        {
            // No file given and application default credentials found nothing (no GOOGLE_APPLICATION_CREDENTIALS, no metadata server).
            throw new StoreException(StoreErrorKind.AccessDenied, $"no Google Cloud credentials: {FirstLine(ex.Message)}",
                "pass --gcs-credentials-file (a service account's JSON key), or run with workload identity or GOOGLE_APPLICATION_CREDENTIALS", ex);
        }

        client.Service.HttpClient.Timeout = options.RequestTimeout;
        return new GcsStore(options, client, time ?? TimeProvider.System, logger ?? NullLogger.Instance);
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        cancellationToken.ThrowIfCancellationRequested();
        await using var objects = Client.ListObjectsAsync(Options.Bucket, Options.Prefix + prefix).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            Google.Apis.Storage.v1.Data.Object item;
            try
            {
                if (!await objects.MoveNextAsync())
                {
                    yield break;
                }

                item = objects.Current;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && Translate(ex, "list the store", null) is { } translated)
            {
                throw translated;
            }

            var key = item.Name[Options.Prefix.Length..];
            if (StoreKey.IsValid(key))
            {
                yield return new StoredObject(key, (long)(item.Size ?? 0), item.UpdatedDateTimeOffset ?? DateTimeOffset.UnixEpoch);
            }
        }
    }

    public async Task<IStoreWrite> BeginWriteAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await CheckBeforeFirstWriteAsync(cancellationToken);
        return new GcsWrite(this);
    }

    internal override Task ProbeAsync(CancellationToken cancellationToken) =>
        GuardAsync("reach the store", async () =>
        {
            await Client.ListObjectsAsync(Options.Bucket, Options.Prefix, new ListObjectsOptions { PageSize = 1 }).ReadPageAsync(1, cancellationToken);
        }, cancellationToken);

    public async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        StoreKey.Validate(key);
        var item = await GuardAsync($"read {key}", () => Client.GetObjectAsync(Options.Bucket, Options.Prefix + key, cancellationToken: cancellationToken),
            cancellationToken, key);
        var body = await GcsReadStream.OpenAsync(this, item, cancellationToken);
        var expected = item.Metadata is { } metadata && metadata.TryGetValue(HashMetadata, out var sha) ? sha : null;
        return new VerifyingReadStream(body, (long)(item.Size ?? 0), key, Location, expected, ex => Translate(ex, $"read {key}", key), body);
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        StoreKey.Validate(key);
        try
        {
            await GuardAsync($"delete {key}", () => Client.DeleteObjectAsync(Options.Bucket, Options.Prefix + key, cancellationToken: cancellationToken),
                cancellationToken, key);
        }
        catch (StoreException ex) when (ex.Kind == StoreErrorKind.NotFound)
        {
            // deleting what is gone is done
        }
    }

    internal string NewTempName() => $"{Options.Prefix}{TempSegment}{Guid.NewGuid():N}";

    internal override async Task RemoveStaleAsync(CancellationToken cancellationToken)
    {
        var cutoff = Time.GetUtcNow() - Options.StaleUploadAge;
        try
        {
            await foreach (var item in Client.ListObjectsAsync(Options.Bucket, Options.Prefix + TempSegment).WithCancellation(cancellationToken))
            {
                if ((item.UpdatedDateTimeOffset ?? DateTimeOffset.MaxValue) < cutoff)
                {
                    await Client.DeleteObjectAsync(item, cancellationToken: cancellationToken);
                    GcsLog.StaleRemoved(Logger, item.Name);
                }
            }
        }
        catch (Exception ex) when (Translate(ex, "remove stale temporary objects", null) is not null)
        {
            GcsLog.StaleCleanupFailed(Logger, ex.Message);
        }
    }

    internal override StoreException? Translate(Exception ex, string action, string? key)
    {
        var where = $"{Location} ({EndpointText})";
        switch (ex)
        {
            case StoreException:
                return null;
            case GoogleApiException g when g.HttpStatusCode == HttpStatusCode.NotFound && IsBucketMissing(g):
                return new StoreException(StoreErrorKind.InvalidLocation, $"cannot {action}: bucket '{Options.Bucket}' does not exist at {EndpointText}",
                    "create the bucket, or fix the bucket in --store", ex);
            case GoogleApiException g when g.HttpStatusCode == HttpStatusCode.NotFound:
                return new StoreException(StoreErrorKind.NotFound, $"{key} does not exist in {Location}",
                    "list the store's snapshots to see what it holds", ex);
            case GoogleApiException g when g.HttpStatusCode == HttpStatusCode.PreconditionFailed:
                return new StoreException(StoreErrorKind.AlreadyExists, $"{key} already exists in {Location}",
                    "an object is never replaced without --force", ex);
            case GoogleApiException g when g.HttpStatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                return new StoreException(StoreErrorKind.AccessDenied, $"cannot {action}: {where} refused the credentials ({(int)g.HttpStatusCode} {FirstLine(g.Error?.Message ?? g.Message)})",
                    "check the service account's key (--gcs-credentials-file) or identity, and that it has roles/storage.objectAdmin on the bucket", ex);
            case TokenResponseException t:
                return new StoreException(StoreErrorKind.AccessDenied, $"cannot {action}: the service account's key was refused ({t.Error?.Error}: {t.Error?.ErrorDescription})",
                    "the key may be deleted or disabled: create a new one and update the Secret", ex);
            case GoogleApiException g when (int)g.HttpStatusCode >= 500 || g.HttpStatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout:
                return new StoreException(StoreErrorKind.Unavailable, $"cannot {action}: {where} answered {(int)g.HttpStatusCode}",
                    "the service may be busy or unreachable; try again", ex);
            case GoogleApiException g:
                return new StoreException(StoreErrorKind.Rejected, $"cannot {action}: {where} answered {(int)g.HttpStatusCode}: {FirstLine(g.Error?.Message ?? g.Message)}",
                    "check --store and the GCS credentials", ex);
        }

        return Unreachable(ex) is { } network
            ? new StoreException(StoreErrorKind.Unavailable, $"cannot {action}: cannot reach {EndpointText}: {FirstLine(network.Message)}",
                "check the network path to the storage endpoint", ex)
            : null;
    }

    /// <summary>GCS's 404 for a bucket that does not exist, told from one for an object by the API's message.</summary>
    private static bool IsBucketMissing(GoogleApiException g) =>
        (g.Error?.Message ?? g.Message).Contains("The specified bucket does not exist", StringComparison.OrdinalIgnoreCase);

    public void Dispose() => Client.Dispose();
}

internal static partial class GcsLog
{
    [LoggerMessage(3401, LogLevel.Information, "Removed the stale temporary object {Name} (left by a writer that stopped)")]
    public static partial void StaleRemoved(ILogger logger, string name);

    [LoggerMessage(3402, LogLevel.Warning, "Could not clean up stale temporary objects: {Reason}")]
    public static partial void StaleCleanupFailed(ILogger logger, string reason);

    [LoggerMessage(3403, LogLevel.Warning, "Reading {Name} broke off at byte {Offset}; resuming from there: {Reason}")]
    public static partial void Resuming(ILogger logger, string name, long offset, string reason);
}
