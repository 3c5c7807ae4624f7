using Azure.Core;
using Azure.Storage;

namespace Lifeboat.Storage.Azure;

/// <summary>Where an Azure Blob Storage store is and how to authenticate: one of the credential kinds.</summary>
public sealed record AzureBlobStoreOptions
{
    /// <summary>The blob service: <c>https://ACCOUNT.blob.core.windows.net</c>, or Azurite's <c>http://127.0.0.1:10000/devstoreaccount1</c>.</summary>
    public Uri? ServiceUri { get; init; }

    public required string Container { get; init; }

    /// <summary>Key prefix inside the container, empty or ending in <c>/</c>.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>A storage connection string (it names the account and its key or SAS, and the endpoint).</summary>
    public string? ConnectionString { get; init; }

    /// <summary>The account name and key.</summary>
    public StorageSharedKeyCredential? SharedKey { get; init; }

    /// <summary>A SAS token for the container (without the leading <c>?</c>).</summary>
    public string? SasToken { get; init; }

    /// <summary>Microsoft Entra ID: workload identity, managed identity, or whatever DefaultAzureCredential finds.</summary>
    public TokenCredential? TokenCredential { get; init; }

    /// <summary>Files of a mounted Secret, re-read when they change.</summary>
    public AzureCredentialFiles? CredentialFiles { get; init; }

    /// <summary>Size of each staged block: the unit of upload and of memory (parallelism + 1 blocks at most).</summary>
    public int BlockSize { get; init; } = 4 << 20;

    public int Parallelism { get; init; } = 4;

    /// <summary>Retries of each request by the SDK (exponential backoff) before it fails.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>How long one request may take before the SDK retries it.</summary>
    public TimeSpan NetworkTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>Temporary blobs older than this (left by a crashed writer) are removed the first time a process writes.</summary>
    public TimeSpan StaleUploadAge { get; init; } = TimeSpan.FromHours(24);

    public const int MinimumBlockSize = 64 << 10;

    public void Validate()
    {
        if ((ConnectionString is null ? 0 : 1) + (SharedKey is null ? 0 : 1) + (SasToken is null ? 0 : 1) + (TokenCredential is null ? 0 : 1)
            + (CredentialFiles is null ? 0 : 1) != 1)
        {
            throw new ArgumentException("give exactly one Azure credential: a connection string, an account key, a SAS token, credential files, or an Entra ID identity");
        }

        if (ConnectionString is null && ServiceUri is null)
        {
            throw new ArgumentException("the blob service URL is needed unless a connection string gives it");
        }

        if (BlockSize < MinimumBlockSize || BlockSize > 1024 << 20)
        {
            throw new ArgumentException($"the Azure block size must be between {MinimumBlockSize >> 10} KiB and 1024 MiB");
        }

        if (Parallelism is < 1 or > 64)
        {
            throw new ArgumentException("the Azure upload parallelism must be between 1 and 64");
        }
    }
}
