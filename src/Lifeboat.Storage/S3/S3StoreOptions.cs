using Amazon.Runtime;

namespace Lifeboat.Storage.S3;

/// <summary>How to reach an S3-compatible store and how to upload to it.</summary>
public sealed record S3StoreOptions
{
    /// <summary>Smallest part S3 accepts (except the last one of an upload).</summary>
    public const int MinimumPartSize = 5 << 20;

    /// <summary>Largest object a single server-side copy may produce; larger ones are copied in parts.</summary>
    public const long SingleCopyLimit = 5L << 30;

    public required string Bucket { get; init; }

    /// <summary>Key prefix inside the bucket: empty, or ending with <c>/</c>.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>Endpoint of an S3-compatible service (MinIO, Ceph, a cloud's S3 API); null for AWS itself.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>Region to sign for; null uses <c>AWS_REGION</c>, else us-east-1.</summary>
    public string? Region { get; init; }

    /// <summary>Address buckets as <c>endpoint/bucket</c> instead of <c>bucket.endpoint</c> (MinIO, most self-hosted servers).</summary>
    public bool ForcePathStyle { get; init; }

    /// <summary>Credentials; null uses the AWS SDK's default chain (environment, profile, web identity, container, instance).</summary>
    public AWSCredentials? Credentials { get; init; }

    /// <summary>Bytes per uploaded part. Memory held by one upload is at most (<see cref="Parallelism"/> + 1) parts.</summary>
    public int PartSize { get; init; } = 8 << 20;

    /// <summary>Parts uploaded at the same time.</summary>
    public int Parallelism { get; init; } = 4;

    /// <summary>Retries of each request on errors that may pass (network, 5xx, throttling), with exponential backoff.</summary>
    public int MaxRetries { get; init; } = 4;

    /// <summary>
    /// How long a write keeps retrying a step (a part, the final put or copy) through an outage the SDK's own retries
    /// did not ride out, with jittered backoff, before it fails.
    /// </summary>
    public TimeSpan RetryWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Time limit of one request (one part, one listing page, one small object).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Objects larger than this are copied into place in parts rather than by one server-side copy.</summary>
    public long CopyPartThreshold { get; init; } = SingleCopyLimit;

    /// <summary>Temporary uploads older than this are removed (where the server can list them) when a store is first written.</summary>
    public TimeSpan StaleUploadAge { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Throws when the options cannot work.</summary>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Bucket);
        if (Prefix.Length > 0 && (!Prefix.EndsWith('/') || Prefix.StartsWith('/')))
        {
            throw new ArgumentException("The prefix must be empty or end with '/', and not start with one.", nameof(Prefix));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(PartSize, 64 << 10);
        ArgumentOutOfRangeException.ThrowIfLessThan(Parallelism, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxRetries);
    }
}
