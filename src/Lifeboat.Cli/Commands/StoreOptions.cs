using System.CommandLine;
using Lifeboat.Core.Codecs;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;
using Lifeboat.Storage;
using Lifeboat.Storage.Encryption;

namespace Lifeboat.Cli.Commands;

/// <summary>The flags that say where the store is and how to reach it, shared by every command that reads or writes snapshots.</summary>
internal sealed class StoreOptions
{
    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    public Option<string> Store { get; } = new("--store")
    {
        Description = "Snapshot store: s3://bucket/prefix, azblob://container/prefix, gs://bucket/prefix, file:///path or a directory path [env: LIFEBOAT_STORE]",
        DefaultValueFactory = _ => Env("LIFEBOAT_STORE") ?? "",
    };

    public Option<string?> S3Endpoint { get; } = new("--s3-endpoint")
    {
        Description = "URL of an S3-compatible service (MinIO, Ceph, a cloud's S3 API); leave out for AWS [env: LIFEBOAT_S3_ENDPOINT]",
        DefaultValueFactory = _ => Env("LIFEBOAT_S3_ENDPOINT"),
    };

    public Option<string?> S3Region { get; } = new("--s3-region")
    {
        Description = "Region of the bucket (default: AWS_REGION, else us-east-1) [env: LIFEBOAT_S3_REGION]",
        DefaultValueFactory = _ => Env("LIFEBOAT_S3_REGION"),
    };

    public Option<bool> S3ForcePathStyle { get; } = new("--s3-force-path-style")
    {
        Description = "Address the bucket as endpoint/bucket (most self-hosted S3 servers) [env: LIFEBOAT_S3_FORCE_PATH_STYLE=true]",
        DefaultValueFactory = _ => string.Equals(Env("LIFEBOAT_S3_FORCE_PATH_STYLE"), "true", StringComparison.OrdinalIgnoreCase),
    };

    public Option<string?> S3CredentialsDir { get; } = new("--s3-credentials-dir")
    {
        Description = "Directory with files accessKeyID, secretAccessKey and optionally sessionToken (a mounted Secret; re-read when it changes). " +
            "Without it: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, then the AWS default chain [env: LIFEBOAT_S3_CREDENTIALS_DIR]",
        DefaultValueFactory = _ => Env("LIFEBOAT_S3_CREDENTIALS_DIR"),
    };

    public Option<int> S3PartSizeMiB { get; } = new Option<int>("--s3-part-size-mib")
    {
        Description = "Size of each uploaded part; an upload holds at most (parallelism + 1) parts in memory",
        DefaultValueFactory = _ => 8,
    }.Integer(min: 5, max: 1024);

    public Option<int> S3Parallelism { get; } = new Option<int>("--s3-parallelism") { Description = "Parts uploaded at the same time", DefaultValueFactory = _ => 4 }.Integer(min: 1, max: 64);

    public Option<string?> AzureAccount { get; } = new("--azure-account")
    {
        Description = "Azure storage account of an azblob:// store, when no connection string or credentials directory names it [env: AZURE_STORAGE_ACCOUNT]",
        DefaultValueFactory = _ => Env("AZURE_STORAGE_ACCOUNT"),
    };

    public Option<string?> AzureEndpoint { get; } = new("--azure-endpoint")
    {
        Description = "Blob service URL (Azurite, a sovereign cloud); default https://ACCOUNT.blob.core.windows.net [env: LIFEBOAT_AZURE_ENDPOINT]",
        DefaultValueFactory = _ => Env("LIFEBOAT_AZURE_ENDPOINT"),
    };

    public Option<string?> AzureCredentialsDir { get; } = new("--azure-credentials-dir")
    {
        Description = "Directory with files storageAccount and storageKey (or sasToken), optionally domain (a mounted Secret; re-read when it changes). " +
            "Without it: AZURE_STORAGE_CONNECTION_STRING, or the account with AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or a workload/managed identity " +
            "[env: LIFEBOAT_AZURE_CREDENTIALS_DIR, AZURE_APPLICATION_CREDENTIALS]",
        DefaultValueFactory = _ => Env("LIFEBOAT_AZURE_CREDENTIALS_DIR") ?? Env("AZURE_APPLICATION_CREDENTIALS"),
    };

    public Option<int> AzureBlockSizeMiB { get; } = new Option<int>("--azure-block-size-mib")
    {
        Description = "Size of each staged block; an upload holds at most (parallelism + 1) blocks in memory",
        DefaultValueFactory = _ => 4,
    }.Integer(min: 1, max: 1024);

    public Option<int> AzureParallelism { get; } = new Option<int>("--azure-parallelism") { Description = "Blocks uploaded at the same time", DefaultValueFactory = _ => 4 }.Integer(min: 1, max: 64);

    public Option<string?> GcsCredentialsFile { get; } = new("--gcs-credentials-file")
    {
        Description = "A service account's JSON key for a gs:// store (a mounted Secret; re-read when it changes). Without it: application default " +
            "credentials (GOOGLE_APPLICATION_CREDENTIALS, workload identity) [env: LIFEBOAT_GCS_CREDENTIALS_FILE]",
        DefaultValueFactory = _ => Env("LIFEBOAT_GCS_CREDENTIALS_FILE"),
    };

    public Option<string?> GcsEndpoint { get; } = new("--gcs-endpoint")
    {
        Description = "The GCS JSON API's base URL (a private endpoint); default https://storage.googleapis.com/storage/v1/ [env: LIFEBOAT_GCS_ENDPOINT]",
        DefaultValueFactory = _ => Env("LIFEBOAT_GCS_ENDPOINT"),
    };

    public Option<int> GcsChunkSizeMiB { get; } = new Option<int>("--gcs-chunk-size-mib")
    {
        Description = "Size of each chunk of a resumable upload; objects up to one chunk are written in one upload",
        DefaultValueFactory = _ => 8,
    }.Integer(min: 1, max: 512);

    public Option<string?> EncryptionKeyFile { get; } = new("--encryption-key-file")
    {
        Description = "Encrypt new snapshots with this key (AES-256-GCM): 32 random bytes, 64 hex digits, or a passphrase of 16+ characters " +
            "[env: LIFEBOAT_ENCRYPTION_KEY_FILE]",
        DefaultValueFactory = _ => Env("LIFEBOAT_ENCRYPTION_KEY_FILE"),
    };

    public Option<string[]> DecryptionKeyFiles { get; } = new("--decryption-key-file")
    {
        Description = "Another key for reading snapshots written before a key rotation; repeat for several",
        AllowMultipleArgumentsPerToken = false,
        DefaultValueFactory = _ => [],
    };

    /// <summary>Compression of written snapshots; added only to commands that write.</summary>
    public Option<Compression?> Compression { get; } = new Option<Compression?>("--compression")
    {
        Description = "Compression of stored snapshots (default: gzip for S3, Azure Blob and GCS, none for a directory, which then restores directly with etcdctl); zstd is faster and smaller, and needs libzstd1",
    }.OneOf<Compression>();

    public void AddTo(Command command, bool writes = false)
    {
        foreach (var option in new Option[]
        {
            Store, S3Endpoint, S3Region, S3ForcePathStyle, S3CredentialsDir, S3PartSizeMiB, S3Parallelism,
            AzureAccount, AzureEndpoint, AzureCredentialsDir, AzureBlockSizeMiB, AzureParallelism, GcsCredentialsFile, GcsEndpoint, GcsChunkSizeMiB,
            EncryptionKeyFile, DecryptionKeyFiles,
        })
        {
            command.Options.Add(option);
        }

        if (writes)
        {
            command.Options.Add(Compression);
        }
    }

    public StoreSettings Read(ParseResult parse)
    {
        var location = parse.GetValue(Store);
        if (string.IsNullOrWhiteSpace(location))
        {
            throw new ArgumentException("no snapshot store given: pass --store s3://bucket/prefix, azblob://container/prefix, gs://bucket/prefix or file:///path/to/backups (or set LIFEBOAT_STORE)");
        }

        Uri? endpoint = null;
        if (parse.GetValue(S3Endpoint) is { } e && (!Uri.TryCreate(e, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            throw new ArgumentException($"--s3-endpoint '{e}' is not an http(s) URL: write it as https://host[:port]");
        }

        Uri? azureEndpoint = null;
        if (parse.GetValue(AzureEndpoint) is { } a && (!Uri.TryCreate(a, UriKind.Absolute, out azureEndpoint) || azureEndpoint.Scheme is not ("http" or "https")))
        {
            throw new ArgumentException($"--azure-endpoint '{a}' is not an http(s) URL: write it as https://ACCOUNT.blob.core.windows.net");
        }

        Uri? gcsEndpoint = null;
        if (parse.GetValue(GcsEndpoint) is { } g && (!Uri.TryCreate(g, UriKind.Absolute, out gcsEndpoint) || gcsEndpoint.Scheme is not ("http" or "https")))
        {
            throw new ArgumentException($"--gcs-endpoint '{g}' is not an http(s) URL: write it as https://host/storage/v1/");
        }

        var partMiB = parse.GetValue(S3PartSizeMiB);
        return new StoreSettings
        {
            Location = location,
            S3Endpoint = endpoint,
            S3Region = parse.GetValue(S3Region),
            S3ForcePathStyle = parse.GetValue(S3ForcePathStyle),
            S3CredentialsDir = parse.GetValue(S3CredentialsDir),
            S3PartSize = partMiB << 20,
            S3Parallelism = parse.GetValue(S3Parallelism),
            AzureAccount = parse.GetValue(AzureAccount),
            AzureEndpoint = azureEndpoint,
            AzureCredentialsDir = parse.GetValue(AzureCredentialsDir),
            AzureBlockSize = parse.GetValue(AzureBlockSizeMiB) << 20,
            AzureParallelism = parse.GetValue(AzureParallelism),
            GcsEndpoint = gcsEndpoint,
            GcsCredentialsFile = parse.GetValue(GcsCredentialsFile),
            GcsChunkSize = parse.GetValue(GcsChunkSizeMiB) << 20,
            EncryptionKeyFile = parse.GetValue(EncryptionKeyFile),
            DecryptionKeyFiles = parse.GetValue(DecryptionKeyFiles) ?? [],
        };
    }

    /// <summary>The compression asked for, else the store's default (gzip for S3).</summary>
    /// <exception cref="CodecUnavailableException">It cannot be used on this machine: refused before anything is read.</exception>
    public Compression CompressionFor(ParseResult parse)
    {
        var compression = parse.GetValue(Compression) ?? (Read(parse).IsObjectStore ? Core.Snapshots.Compression.Gzip : Core.Snapshots.Compression.None);
        SnapshotCodec.ThrowIfUnavailable(compression);
        return compression;
    }

    /// <param name="create">False for commands that only read (list, restore): nothing is created.</param>
    public ISnapshotStore Open(ParseResult parse, TimeProvider time, bool create = true)
    {
        var settings = Read(parse);
        return EncryptedStore.Wrap(StoreLocation.Open(settings, time, create), settings.LoadKeys());
    }
}
