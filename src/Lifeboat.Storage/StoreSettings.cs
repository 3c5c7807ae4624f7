using Lifeboat.Storage.Azure;
using Lifeboat.Storage.Encryption;

namespace Lifeboat.Storage;

/// <summary>Everything that says where the store is and how to reach it, as given on the command line.</summary>
public sealed record StoreSettings
{
    /// <summary><c>s3://bucket/prefix</c>, <c>file:///path</c> or a directory path.</summary>
    public required string Location { get; init; }

    public Uri? S3Endpoint { get; init; }

    public string? S3Region { get; init; }

    public bool S3ForcePathStyle { get; init; }

    /// <summary>Directory with <c>accessKeyID</c> and <c>secretAccessKey</c> files; null uses the environment and the AWS chain.</summary>
    public string? S3CredentialsDir { get; init; }

    public int S3PartSize { get; init; } = 8 << 20;

    public int S3Parallelism { get; init; } = 4;

    /// <summary>Storage account name; null takes it from the credentials files or <c>AZURE_STORAGE_ACCOUNT</c>.</summary>
    public string? AzureAccount { get; init; }

    /// <summary>The blob service URL (Azurite, a sovereign cloud); null is the account's public endpoint.</summary>
    public Uri? AzureEndpoint { get; init; }

    /// <summary>Directory with <c>storageAccount</c> and <c>storageKey</c> (or <c>sasToken</c>) files; null uses the environment.</summary>
    public string? AzureCredentialsDir { get; init; }

    public int AzureBlockSize { get; init; } = 4 << 20;

    public int AzureParallelism { get; init; } = 4;

    /// <summary>The GCS JSON API's base URL (a private endpoint, a test server); null is Google's.</summary>
    public Uri? GcsEndpoint { get; init; }

    /// <summary>A service account's JSON key file (re-read when it changes); null uses application default credentials.</summary>
    public string? GcsCredentialsFile { get; init; }

    public int GcsChunkSize { get; init; } = 8 << 20;

    /// <summary>
    /// Whether credentials may come from Lifeboat's and Azure's environment variables. False for a second store (a
    /// copy's target, the sidecar's mirror): the environment describes the first store, and a mirror written with the
    /// first store's credentials would land in the first store's account.
    /// </summary>
    public bool ReadsEnvironment { get; init; } = true;

    /// <summary>Key file new objects are encrypted with; null writes them unencrypted.</summary>
    public string? EncryptionKeyFile { get; init; }

    /// <summary>Further key files, for reading objects written before a key rotation.</summary>
    public IReadOnlyList<string> DecryptionKeyFiles { get; init; } = [];

    public bool IsS3 => Location.StartsWith("s3://", StringComparison.OrdinalIgnoreCase);

    public bool IsAzure => Location.StartsWith("azblob://", StringComparison.OrdinalIgnoreCase);

    public bool IsGcs => Location.StartsWith("gs://", StringComparison.OrdinalIgnoreCase);

    /// <summary>A store in a remote object service (S3, Azure Blob, GCS), where snapshots are compressed by default.</summary>
    public bool IsObjectStore => IsS3 || IsAzure || IsGcs;

    /// <summary>Loads the key files (each once).</summary>
    public KeyRing LoadKeys() => new(
        EncryptionKeyFile is { Length: > 0 } write ? EncryptionKey.Load(write) : null,
        DecryptionKeyFiles.Select(EncryptionKey.Load));

    /// <summary>The settings for the start-up log and /config: paths and names, never secrets or key material.</summary>
    public IEnumerable<KeyValuePair<string, string>> Describe(KeyRing keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        yield return new("store", Location);
        if (IsS3)
        {
            yield return new("s3-endpoint", S3Endpoint?.GetLeftPart(UriPartial.Path) ?? "");
            yield return new("s3-region", S3Region ?? "");
            yield return new("s3-force-path-style", S3ForcePathStyle ? "true" : "false");
            yield return new("s3-credentials", S3CredentialsDir is { } dir ? $"files in {dir}" : "environment or AWS default chain");
            yield return new("s3-part-size", S3PartSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
            yield return new("s3-parallelism", S3Parallelism.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (IsAzure)
        {
            yield return new("azure-account", AzureAccount ?? "");
            yield return new("azure-endpoint", AzureEndpoint?.GetLeftPart(UriPartial.Path) ?? "");
            yield return new("azure-credentials", AzureEnvironment.Describe(this));
            yield return new("azure-block-size", AzureBlockSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
            yield return new("azure-parallelism", AzureParallelism.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (IsGcs)
        {
            yield return new("gcs-endpoint", GcsEndpoint?.ToString() ?? "");
            yield return new("gcs-credentials", GcsCredentialsFile is { Length: > 0 } file ? $"service account key {file}" : "application default credentials");
            yield return new("gcs-chunk-size", GcsChunkSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        yield return new("encryption-key-id", keys.WriteKey?.Id ?? "");
        yield return new("decryption-key-ids", string.Join(",", keys.Ids.Where(id => id != keys.WriteKey?.Id)));
    }
}
