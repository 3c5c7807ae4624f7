using System.Net;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeboat.Storage.Azure;

/// <summary>A store in an Azure Blob Storage container, under an optional prefix, on Azure.Storage.Blobs.</summary>
/// <remarks>
/// <para>Writes stream: bytes fill a block buffer, full blocks are staged (Put Block) while the next fills, with at
/// most <see cref="AzureBlobStoreOptions.Parallelism"/> in flight, so memory is bounded by (parallelism + 1) × block
/// size and nothing is spooled to disk. Staged blocks are invisible until their block list is committed.</para>
/// <para>An object's key is only known at commit, while blocks belong to a blob name from the first one. So an object
/// larger than one block is staged under <c>&lt;prefix&gt;.tmp/&lt;id&gt;</c> (never listed), committed there, copied
/// server-side to its key (refused if the key exists, unless overwriting) and the temporary blob deleted. An object
/// that fits one block is uploaded straight to its key. Either way it appears complete or not at all, with its
/// SHA-256 in the blob's metadata (<c>lifeboatsha256</c>), checked when it is read back to its end.</para>
/// <para>Retries with exponential backoff are the SDK's (<see cref="AzureBlobStoreOptions.MaxRetries"/>).</para>
/// </remarks>
public sealed class AzureBlobStore : ObjectStore, ISnapshotStore
{
    internal const string HashMetadata = "lifeboatsha256";
    internal const string TempSegment = ".tmp/";

    private readonly AzureSasCredential? _sas;

    private AzureBlobStore(AzureBlobStoreOptions options, BlobContainerClient container, AzureSasCredential? sas, TimeProvider time, ILogger logger)
        : base(time, logger)
    {
        Options = options;
        Container = container;
        _sas = sas;
    }

    public AzureBlobStoreOptions Options { get; }

    internal BlobContainerClient Container { get; }

    public override string Location => $"azblob://{Options.Container}/{Options.Prefix}";

    internal string Endpoint => Container.Uri.GetLeftPart(UriPartial.Authority);

    public static AzureBlobStore Open(AzureBlobStoreOptions options, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clientOptions = new BlobClientOptions();
        clientOptions.Retry.MaxRetries = options.MaxRetries;
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.NetworkTimeout = options.NetworkTimeout;
        var containerUri = options.ServiceUri is { } service ? new Uri(service.ToString().TrimEnd('/') + "/" + options.Container) : null;
        if (options.CredentialFiles is { } files)
        {
            clientOptions.AddPolicy(new AzureCredentialFiles.RefreshPolicy(files), HttpPipelinePosition.PerCall);
        }

        var sas = options.SasToken is { } token ? new AzureSasCredential(token.TrimStart('?')) : options.CredentialFiles?.Sas;
        BlobContainerClient container;
        try
        {
            container = options switch
            {
                { ConnectionString: { } connection } => new BlobContainerClient(connection, options.Container, clientOptions),
                { SharedKey: { } key } => new BlobContainerClient(containerUri, key, clientOptions),
                { CredentialFiles.SharedKey: { } key } => new BlobContainerClient(containerUri, key, clientOptions),
                _ when sas is not null => new BlobContainerClient(containerUri, sas, clientOptions),
                _ => new BlobContainerClient(containerUri, options.TokenCredential!, clientOptions),
            };
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            throw new StoreException(StoreErrorKind.InvalidLocation, $"the Azure storage connection settings do not parse: {ex.Message}",
                "check the connection string (AccountName=...;AccountKey=...;BlobEndpoint=...) or the account key", ex);
        }

        return new AzureBlobStore(options, container, sas, time ?? TimeProvider.System, logger ?? NullLogger.Instance);
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        cancellationToken.ThrowIfCancellationRequested();
        await using var blobs = Container.GetBlobsAsync(BlobTraits.None, BlobStates.None, Options.Prefix + prefix, cancellationToken)
            .GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            BlobItem item;
            try
            {
                if (!await blobs.MoveNextAsync())
                {
                    yield break;
                }

                item = blobs.Current;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && Translate(ex, "list the store", null) is { } translated)
            {
                throw translated;
            }

            var key = item.Name[Options.Prefix.Length..];
            if (StoreKey.IsValid(key))
            {
                yield return new StoredObject(key, item.Properties.ContentLength ?? 0, item.Properties.LastModified ?? DateTimeOffset.UnixEpoch);
            }
        }
    }

    public async Task<IStoreWrite> BeginWriteAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await CheckBeforeFirstWriteAsync(cancellationToken);
        return new AzureBlobWrite(this);
    }

    internal override Task ProbeAsync(CancellationToken cancellationToken) =>
        GuardAsync("reach the store", async () =>
        {
            await foreach (var page in Container.GetBlobsAsync(BlobTraits.None, BlobStates.None, Options.Prefix, cancellationToken).AsPages(pageSizeHint: 1))
            {
                break;
            }
        }, cancellationToken);

    public async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        StoreKey.Validate(key);
        var blob = Container.GetBlobClient(Options.Prefix + key);
        var response = await GuardAsync($"read {key}", () => blob.DownloadStreamingAsync(cancellationToken: cancellationToken), cancellationToken, key);
        var details = response.Value.Details;
        var expected = details.Metadata.TryGetValue(HashMetadata, out var sha) ? sha : null;
        return new VerifyingReadStream(response.Value.Content, details.ContentLength, key, Location, expected,
            ex => Translate(ex, $"read {key}", key));
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        StoreKey.Validate(key);
        await GuardAsync($"delete {key}", () => Container.DeleteBlobIfExistsAsync(Options.Prefix + key, DeleteSnapshotsOption.IncludeSnapshots,
            cancellationToken: cancellationToken), cancellationToken);
    }

    internal BlockBlobClient Blob(string fullName) => Container.GetBlockBlobClient(fullName);

    /// <summary>
    /// The URL a server-side copy reads <paramref name="blob"/> from. The service authorises a copy's source
    /// separately: a same-account source is covered by a shared key or an Entra ID token on the copy request, but
    /// a SAS is not sent along by itself, so it is added to the source URL.
    /// </summary>
    internal Uri CopySource(BlockBlobClient blob) =>
        _sas is null ? blob.Uri : new UriBuilder(blob.Uri) { Query = _sas.Signature }.Uri;

    internal string NewTempName() => $"{Options.Prefix}{TempSegment}{Guid.NewGuid():N}";

    /// <summary>Removes temporary blobs that crashed writers left behind.</summary>
    internal override async Task RemoveStaleAsync(CancellationToken cancellationToken)
    {
        var cutoff = Time.GetUtcNow() - Options.StaleUploadAge;
        try
        {
            await foreach (var item in Container.GetBlobsAsync(BlobTraits.None, BlobStates.None, Options.Prefix + TempSegment, cancellationToken))
            {
                if (item.Properties.LastModified is { } modified && modified < cutoff)
                {
                    await Container.DeleteBlobIfExistsAsync(item.Name, cancellationToken: cancellationToken);
                    AzureLog.StaleRemoved(Logger, item.Name);
                }
            }
        }
        catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or IOException)
        {
            AzureLog.StaleCleanupFailed(Logger, ex.Message);
        }
    }

    internal override StoreException? Translate(Exception ex, string action, string? key)
    {
        var where = $"{Location} ({Endpoint})";
        switch (ex)
        {
            case StoreException:
                return null;
            case RequestFailedException r when r.ErrorCode == BlobErrorCode.ContainerNotFound:
                return new StoreException(StoreErrorKind.InvalidLocation, $"cannot {action}: container '{Options.Container}' does not exist at {Endpoint}",
                    "create the container, or fix the container in --store", ex);
            case RequestFailedException r when r.ErrorCode == BlobErrorCode.BlobNotFound || (key is not null && r.Status == (int)HttpStatusCode.NotFound):
                return new StoreException(StoreErrorKind.NotFound, $"{key} does not exist in {Location}",
                    "list the store's snapshots to see what it holds", ex);
            case RequestFailedException r when r.ErrorCode == BlobErrorCode.BlobAlreadyExists
                || r.Status is (int)HttpStatusCode.PreconditionFailed || r.ErrorCode == BlobErrorCode.ConditionNotMet:
                return new StoreException(StoreErrorKind.AlreadyExists, $"{key} already exists in {Location}",
                    "an object is never replaced without --force", ex);
            case RequestFailedException r when r.Status is (int)HttpStatusCode.Forbidden or (int)HttpStatusCode.Unauthorized:
                return new StoreException(StoreErrorKind.AccessDenied,
                    $"cannot {action}: {where} refused the credentials ({r.ErrorCode ?? r.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)})",
                    "check the account key, connection string, SAS token (its permissions and expiry) or the identity's role on the container", ex);
            case RequestFailedException r when r.Status >= 500 || r.Status == 0:
                return new StoreException(StoreErrorKind.Unavailable, $"cannot {action}: {where} answered {r.Status} {r.ErrorCode}",
                    "the service may be busy or unreachable; try again", ex);
            case RequestFailedException r:
                return new StoreException(StoreErrorKind.Rejected, $"cannot {action}: {where} answered {r.Status} {r.ErrorCode}: {FirstLine(r.Message)}",
                    "check --store and the Azure credentials", ex);
            case global::Azure.Identity.AuthenticationFailedException:
                return new StoreException(StoreErrorKind.AccessDenied, $"cannot {action}: no Azure identity could be used: {FirstLine(ex.Message)}",
                    "set up workload identity or a managed identity, or give an account key, SAS token or connection string", ex);
        }

        return Unreachable(ex) is { } network
            ? new StoreException(StoreErrorKind.Unavailable, $"cannot {action}: cannot reach {Endpoint}: {FirstLine(network.Message)}",
                "check the storage endpoint and that the service is reachable", ex)
            : null;
    }
}
