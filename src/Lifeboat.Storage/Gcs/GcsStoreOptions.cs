namespace Lifeboat.Storage.Gcs;

/// <summary>Where a Google Cloud Storage store is and how to authenticate.</summary>
public sealed record GcsStoreOptions
{
    public required string Bucket { get; init; }

    /// <summary>Key prefix inside the bucket, empty or ending in <c>/</c>.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>The JSON API's base URL (<c>https://storage.googleapis.com/storage/v1/</c> when null); another for a private endpoint or a test server.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>A service account's JSON key (a mounted Secret's file, re-read when it changes); null uses application default credentials.</summary>
    public string? CredentialsFile { get; init; }

    /// <summary>Size of each chunk of a resumable upload, and of the largest object written in one request. A multiple of 256 KiB.</summary>
    public int ChunkSize { get; init; } = 8 << 20;

    /// <summary>How long one request may take before it is abandoned and retried.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>Temporary objects older than this (left by a crashed writer) are removed the first time a process writes.</summary>
    public TimeSpan StaleUploadAge { get; init; } = TimeSpan.FromHours(24);

    /// <summary>GCS's unit for resumable-upload chunks.</summary>
    public const int ChunkUnit = 256 << 10;

    public void Validate()
    {
        if (ChunkSize < ChunkUnit || ChunkSize % ChunkUnit != 0 || ChunkSize > 512 << 20)
        {
            throw new ArgumentException("the GCS chunk size must be a multiple of 256 KiB, up to 512 MiB");
        }

        if (Endpoint is { } e && e.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"the GCS endpoint '{e}' is not an http(s) URL");
        }
    }
}
