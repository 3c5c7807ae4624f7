using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;
using Lifeboat.Storage.Azure;
using Lifeboat.Storage.Gcs;
using Lifeboat.Storage.Local;
using Lifeboat.Storage.S3;
using Microsoft.Extensions.Logging;

namespace Lifeboat.Storage;

/// <summary>Opens a store from the <c>--store</c> value: <c>s3://bucket/prefix</c>, <c>azblob://container/prefix</c>, <c>gs://bucket/prefix</c>, <c>file:///abs/path</c>, or a plain directory path.</summary>
public static class StoreLocation
{
    /// <param name="create">False for commands that only read: a missing local store is then an error, and nothing is created.</param>
    public static ISnapshotStore Open(string location, TimeProvider? time = null, bool create = true) =>
        Open(new StoreSettings { Location = location }, time, create);

    /// <param name="create">False for commands that only read: a missing local store is then an error, and nothing is created.</param>
    public static ISnapshotStore Open(StoreSettings settings, TimeProvider? time = null, bool create = true, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var location = settings.Location;
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        if (location.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(location, UriKind.Absolute, out var uri) || !string.IsNullOrEmpty(uri.Host) && uri.Host != "localhost")
            {
                throw new StoreException(StoreErrorKind.InvalidLocation, $"'{location}' is not a valid file URL",
                    "write it as file:///absolute/path (three slashes)");
            }

            return LocalDirectoryStore.Open(Uri.UnescapeDataString(uri.AbsolutePath), time, create);
        }

        if (settings.IsS3)
        {
            return S3Store.Open(ParseS3(settings), time, logger);
        }

        if (settings.IsAzure)
        {
            return AzureBlobStore.Open(ParseAzure(settings, settings.ReadsEnvironment ? Environment.GetEnvironmentVariable : _ => null), time, logger);
        }

        if (settings.IsGcs)
        {
            return GcsStore.Open(ParseGcs(settings), time, logger);
        }

        if (location.Contains("://", StringComparison.Ordinal))
        {
            throw new StoreException(StoreErrorKind.InvalidLocation, $"unsupported store location '{location}'",
                "use s3://bucket/prefix, azblob://container/prefix, gs://bucket/prefix, file:///path or a plain directory path");
        }

        return LocalDirectoryStore.Open(location, time, create);
    }

    /// <summary>
    /// The Azure Blob store options of <c>azblob://container[/prefix]</c> and the Azure flags, with the credentials the
    /// flags, files and environment give (<see cref="AzureEnvironment"/>).
    /// </summary>
    public static AzureBlobStoreOptions ParseAzure(StoreSettings settings, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var location = settings.Location;
        var rest = location["azblob://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var container = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        // Azure's rule: 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.
        if (container.Length is < 3 or > 63 || !container.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
            || container[0] == '-' || container[^1] == '-' || container.Contains("--", StringComparison.Ordinal))
        {
            throw new StoreException(StoreErrorKind.InvalidLocation, $"'{location}' does not name a valid Azure Blob container",
                "write it as azblob://container/optional/prefix (container names are 3-63 lower-case letters, digits and single '-')");
        }

        if (prefix.Length > 0 && !Core.Storage.StoreKey.IsValid(prefix))
        {
            throw new StoreException(StoreErrorKind.InvalidLocation, $"the prefix '{prefix}' in '{location}' is not a valid key prefix",
                "use letters, digits, '.', '_' and '-' in /-separated segments");
        }

        return AzureEnvironment.Credentials(new AzureBlobStoreOptions { Container = container, Prefix = prefix.Length == 0 ? "" : prefix + "/" }, settings, environment);
    }

    /// <summary>The S3 store options of <c>s3://bucket[/prefix]</c> and the S3 flags.</summary>
    public static S3StoreOptions ParseS3(StoreSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var rest = settings.Location["s3://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        if (bucket.Length is < 3 or > 63 || !bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.'))
        {
            throw new StoreException(StoreErrorKind.InvalidLocation, $"'{settings.Location}' does not name a valid S3 bucket",
                "write it as s3://bucket/optional/prefix (bucket names are 3-63 lower-case letters, digits, '-' and '.')");
        }

        if (prefix.Length > 0 && !Core.Storage.StoreKey.IsValid(prefix))
        {
            throw new StoreException(StoreErrorKind.InvalidLocation, $"the prefix '{prefix}' in '{settings.Location}' is not a valid key prefix",
                "use letters, digits, '.', '_' and '-' in /-separated segments");
        }

        if (settings.S3PartSize < S3StoreOptions.MinimumPartSize)
        {
            throw new ArgumentException($"--s3-part-size-mib must be at least {S3StoreOptions.MinimumPartSize >> 20} (S3's smallest part)");
        }

        if (settings.S3Parallelism is < 1 or > 64)
        {
            throw new ArgumentException("--s3-parallelism must be between 1 and 64");
        }

        return new S3StoreOptions
        {
            Bucket = bucket,
            Prefix = prefix.Length == 0 ? "" : prefix + "/",
            Endpoint = settings.S3Endpoint,
            Region = settings.S3Region,
            ForcePathStyle = settings.S3ForcePathStyle,
            Credentials = settings.S3CredentialsDir is { Length: > 0 } dir ? FileCredentials.Open(dir) : null,
            PartSize = settings.S3PartSize,
            Parallelism = settings.S3Parallelism,
        };
    }

    /// <summary>
    /// The GCS store options of <c>gs://bucket[/prefix]</c> and the GCS flags. Without a key file, credentials are
    /// application default credentials (<c>GOOGLE_APPLICATION_CREDENTIALS</c>, workload identity, the metadata server).
    /// </summary>
    public static GcsStoreOptions ParseGcs(StoreSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var rest = settings.Location["gs://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        // GCS's rule (without dotted domain-named buckets' longer form): 3-63 lower-case letters, digits, '-', '_' and
        // '.', starting and ending with a letter or digit.
        if (bucket.Length is < 3 or > 63 || !bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_' or '.')
            || !char.IsAsciiLetterOrDigit(bucket[0]) || !char.IsAsciiLetterOrDigit(bucket[^1]))
        {
            throw new StoreException(StoreErrorKind.InvalidLocation, $"'{settings.Location}' does not name a valid GCS bucket",
                "write it as gs://bucket/optional/prefix (bucket names are 3-63 lower-case letters, digits, '-', '_' and '.')");
        }

        if (prefix.Length > 0 && !Core.Storage.StoreKey.IsValid(prefix))
        {
            throw new StoreException(StoreErrorKind.InvalidLocation, $"the prefix '{prefix}' in '{settings.Location}' is not a valid key prefix",
                "use letters, digits, '.', '_' and '-' in /-separated segments");
        }

        var options = new GcsStoreOptions
        {
            Bucket = bucket,
            Prefix = prefix.Length == 0 ? "" : prefix + "/",
            Endpoint = settings.GcsEndpoint,
            CredentialsFile = settings.GcsCredentialsFile,
            ChunkSize = settings.GcsChunkSize,
        };
        options.Validate();
        return options;
    }
}
