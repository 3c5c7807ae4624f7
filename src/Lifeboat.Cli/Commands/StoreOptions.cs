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
    /// <param name="storeFlag">The flag that names the store (<c>--store</c>, or <c>--from</c> and <c>--to</c> for a copy).</param>
    /// <param name="prefix">Put before every other flag's name (<c>to-</c>: <c>--to-s3-endpoint</c>); such flags read no environment variables.</param>
    public StoreOptions(string storeFlag = "--store", string prefix = "")
    {
        StoreFlag = storeFlag;
        Prefix = prefix;
        Store = new(storeFlag)
        {
            Description = storeFlag == "--store"
                ? "Snapshot store: s3://bucket/prefix, azblob://container/prefix, gs://bucket/prefix, file:///path or a directory path [env: LIFEBOAT_STORE]"
                : $"The store to copy {(storeFlag == "--from" ? "from" : "to")}: s3://, azblob://, gs://, file:///path or a directory path",
            DefaultValueFactory = _ => storeFlag == "--store" ? Env(prefix, "LIFEBOAT_STORE") ?? "" : "",
        };
        S3Endpoint = new($"--{prefix}s3-endpoint")
        {
            Description = Doc(prefix, "URL of an S3-compatible service (MinIO, Ceph, a cloud's S3 API); leave out for AWS [env: LIFEBOAT_S3_ENDPOINT]"),
            DefaultValueFactory = _ => Env(prefix, "LIFEBOAT_S3_ENDPOINT"),
        };
        S3Region = new($"--{prefix}s3-region")
        {
            Description = Doc(prefix, "Region of the bucket (default: AWS_REGION, else us-east-1) [env: LIFEBOAT_S3_REGION]"),
            DefaultValueFactory = _ => Env(prefix, "LIFEBOAT_S3_REGION"),
        };
        S3ForcePathStyle = new($"--{prefix}s3-force-path-style")
        {
            Description = Doc(prefix, "Address the bucket as endpoint/bucket (most self-hosted S3 servers) [env: LIFEBOAT_S3_FORCE_PATH_STYLE=true]"),
            DefaultValueFactory = _ => string.Equals(Env(prefix, "LIFEBOAT_S3_FORCE_PATH_STYLE"), "true", StringComparison.OrdinalIgnoreCase),
        };
        S3CredentialsDir = new($"--{prefix}s3-credentials-dir")
        {
            Description = Doc(prefix, "Directory with files accessKeyID, secretAccessKey and optionally sessionToken (a mounted Secret; re-read when it changes). " +
                "Without it: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, then the AWS default chain [env: LIFEBOAT_S3_CREDENTIALS_DIR]"),
            DefaultValueFactory = _ => Env(prefix, "LIFEBOAT_S3_CREDENTIALS_DIR"),
        };
        S3PartSizeMiB = new Option<int>($"--{prefix}s3-part-size-mib")
        {
            Description = Doc(prefix, "Size of each uploaded part; an upload holds at most (parallelism + 1) parts in memory"),
            DefaultValueFactory = _ => 8,
        }.Integer(min: 5, max: 1024);
        S3Parallelism = new Option<int>($"--{prefix}s3-parallelism") { Description = Doc(prefix, "Parts uploaded at the same time"), DefaultValueFactory = _ => 4 }.Integer(min: 1, max: 64);
        AzureAccount = new($"--{prefix}azure-account")
        {
            Description = Doc(prefix, "Azure storage account of an azblob:// store, when no connection string or credentials directory names it [env: AZURE_STORAGE_ACCOUNT]"),
            DefaultValueFactory = _ => Env(prefix, "AZURE_STORAGE_ACCOUNT"),
        };
        AzureEndpoint = new($"--{prefix}azure-endpoint")
        {
            Description = Doc(prefix, "Blob service URL (Azurite, a sovereign cloud); default https://ACCOUNT.blob.core.windows.net [env: LIFEBOAT_AZURE_ENDPOINT]"),
            DefaultValueFactory = _ => Env(prefix, "LIFEBOAT_AZURE_ENDPOINT"),
        };
        AzureCredentialsDir = new($"--{prefix}azure-credentials-dir")
        {
            Description = Doc(prefix, "Directory with files storageAccount and storageKey (or sasToken), optionally domain (a mounted Secret; re-read when it changes). " +
                "Without it: AZURE_STORAGE_CONNECTION_STRING, or the account with AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or a workload/managed identity " +
                "[env: LIFEBOAT_AZURE_CREDENTIALS_DIR, AZURE_APPLICATION_CREDENTIALS]"),
            DefaultValueFactory = _ => Env(prefix, "LIFEBOAT_AZURE_CREDENTIALS_DIR") ?? Env(prefix, "AZURE_APPLICATION_CREDENTIALS"),
        };
        AzureBlockSizeMiB = new Option<int>($"--{prefix}azure-block-size-mib")
        {
            Description = Doc(prefix, "Size of each staged block; an upload holds at most (parallelism + 1) blocks in memory"),
            DefaultValueFactory = _ => 4,
        }.Integer(min: 1, max: 1024);
        AzureParallelism = new Option<int>($"--{prefix}azure-parallelism") { Description = Doc(prefix, "Blocks uploaded at the same time"), DefaultValueFactory = _ => 4 }.Integer(min: 1, max: 64);
        GcsCredentialsFile = new($"--{prefix}gcs-credentials-file")
        {
            Description = Doc(prefix, "A service account's JSON key for a gs:// store (a mounted Secret; re-read when it changes). Without it: application default " +
                "credentials (GOOGLE_APPLICATION_CREDENTIALS, workload identity) [env: LIFEBOAT_GCS_CREDENTIALS_FILE]"),
            DefaultValueFactory = _ => Env(prefix, "LIFEBOAT_GCS_CREDENTIALS_FILE"),
        };
        GcsEndpoint = new($"--{prefix}gcs-endpoint")
        {
            Description = Doc(prefix, "The GCS JSON API's base URL (a private endpoint); default https://storage.googleapis.com/storage/v1/ [env: LIFEBOAT_GCS_ENDPOINT]"),
            DefaultValueFactory = _ => Env(prefix, "LIFEBOAT_GCS_ENDPOINT"),
        };
        GcsChunkSizeMiB = new Option<int>($"--{prefix}gcs-chunk-size-mib")
        {
            Description = Doc(prefix, "Size of each chunk of a resumable upload; objects up to one chunk are written in one upload"),
            DefaultValueFactory = _ => 8,
        }.Integer(min: 1, max: 512);
        EncryptionKeyFile = new($"--{prefix}encryption-key-file")
        {
            Description = Doc(prefix, "Encrypt new snapshots with this key (AES-256-GCM): 32 random bytes, 64 hex digits, or a passphrase of 16+ characters " +
                "[env: LIFEBOAT_ENCRYPTION_KEY_FILE]"),
            DefaultValueFactory = _ => Env(prefix, "LIFEBOAT_ENCRYPTION_KEY_FILE"),
        };
        DecryptionKeyFiles = new($"--{prefix}decryption-key-file")
        {
            Description = Doc(prefix, "Another key for reading snapshots written before a key rotation; repeat for several"),
            AllowMultipleArgumentsPerToken = false,
            DefaultValueFactory = _ => [],
        };
        Compression = new Option<Compression?>($"--{prefix}compression")
        {
            Description = Doc(prefix, "Compression of stored snapshots (default: gzip for S3, Azure Blob and GCS, none for a directory, which then restores directly with etcdctl); zstd is faster and smaller, and needs libzstd1"),
        }.OneOf<Compression>();
    }

    /// <summary>The flag that names the store.</summary>
    public string StoreFlag { get; }

    /// <summary>The prefix of the other flags' names.</summary>
    public string Prefix { get; }

    /// <summary>The environment variable, for the unprefixed flags only: <c>--to-*</c> flags are always given explicitly.</summary>
    private static string? Env(string prefix, string name) =>
        prefix.Length == 0 && Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    /// <summary>The description, without its "[env: ...]" note for prefixed flags.</summary>
    private static string Doc(string prefix, string text) =>
        prefix.Length == 0 ? text : System.Text.RegularExpressions.Regex.Replace(text, @" \[env: [^\]]*\]$", "");

    public Option<string> Store { get; }

    public Option<string?> S3Endpoint { get; }

    public Option<string?> S3Region { get; }

    public Option<bool> S3ForcePathStyle { get; }

    public Option<string?> S3CredentialsDir { get; }

    public Option<int> S3PartSizeMiB { get; }

    public Option<int> S3Parallelism { get; }

    public Option<string?> AzureAccount { get; }

    public Option<string?> AzureEndpoint { get; }

    public Option<string?> AzureCredentialsDir { get; }

    public Option<int> AzureBlockSizeMiB { get; }

    public Option<int> AzureParallelism { get; }

    public Option<string?> GcsCredentialsFile { get; }

    public Option<string?> GcsEndpoint { get; }

    public Option<int> GcsChunkSizeMiB { get; }

    public Option<string?> EncryptionKeyFile { get; }

    public Option<string[]> DecryptionKeyFiles { get; }

    /// <summary>Compression of written snapshots; added only to commands that write.</summary>
    public Option<Compression?> Compression { get; }

    public void AddTo(Command command, bool writes = false)
    {
        foreach (var option in new Option[]
        {
            Store, S3Endpoint, S3Region, S3ForcePathStyle, S3CredentialsDir, S3PartSizeMiB, S3Parallelism,
            AzureAccount, AzureEndpoint, AzureCredentialsDir, AzureBlockSizeMiB, AzureParallelism, GcsCredentialsFile, GcsEndpoint, GcsChunkSizeMiB,
            EncryptionKeyFile, DecryptionKeyFiles,
        })
        {
            if (option != DecryptionKeyFiles || Prefix.Length == 0) // a copy's target is only written: it needs no keys to read
            {
                command.Options.Add(option);
            }
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
            throw new ArgumentException(StoreFlag == "--store"
                ? "no snapshot store given: pass --store s3://bucket/prefix, azblob://container/prefix, gs://bucket/prefix or file:///path/to/backups (or set LIFEBOAT_STORE)"
                : $"no store given: pass {StoreFlag} s3://bucket/prefix, azblob://container/prefix, gs://bucket/prefix or file:///path/to/backups");
        }

        Uri? endpoint = null;
        if (parse.GetValue(S3Endpoint) is { } e && (!Uri.TryCreate(e, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            throw new ArgumentException($"--{Prefix}s3-endpoint '{e}' is not an http(s) URL: write it as https://host[:port]");
        }

        Uri? azureEndpoint = null;
        if (parse.GetValue(AzureEndpoint) is { } a && (!Uri.TryCreate(a, UriKind.Absolute, out azureEndpoint) || azureEndpoint.Scheme is not ("http" or "https")))
        {
            throw new ArgumentException($"--{Prefix}azure-endpoint '{a}' is not an http(s) URL: write it as https://ACCOUNT.blob.core.windows.net");
        }

        Uri? gcsEndpoint = null;
        if (parse.GetValue(GcsEndpoint) is { } g && (!Uri.TryCreate(g, UriKind.Absolute, out gcsEndpoint) || gcsEndpoint.Scheme is not ("http" or "https")))
        {
            throw new ArgumentException($"--{Prefix}gcs-endpoint '{g}' is not an http(s) URL: write it as https://host/storage/v1/");
        }

        var partMiB = parse.GetValue(S3PartSizeMiB);
        return new StoreSettings
        {
            Location = location,
            ReadsEnvironment = Prefix.Length == 0,
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
        var (store, keys) = OpenRaw(parse, time, create);
        return EncryptedStore.Wrap(store, keys);
    }

    /// <summary>The store as it is (encrypted objects read as stored), and the keys given for it.</summary>
    public (ISnapshotStore Store, KeyRing Keys) OpenRaw(ParseResult parse, TimeProvider time, bool create = true)
    {
        var settings = Read(parse);
        var keys = settings.LoadKeys();
        return (StoreLocation.Open(settings, time, create), keys);
    }
}
