using Lifeboat.Core.Retention;
using Lifeboat.Core.Scheduling;
using Lifeboat.Core.Snapshots;
using Lifeboat.Etcd;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Storage;
using Lifeboat.Storage.Encryption;

namespace Lifeboat.Cli.Hosting;

/// <summary>The validated configuration of <c>lifeboat etcd serve</c>.</summary>
internal sealed record SidecarOptions
{
    public required EtcdClientOptions Etcd { get; init; }

    public required StoreSettings Store { get; init; }

    /// <summary>The encryption keys loaded from <see cref="StoreSettings.EncryptionKeyFile"/> and the decryption key files.</summary>
    public KeyRing Keys { get; init; } = new(null, []);

    public required FullSnapshotSchedule FullSchedule { get; init; }

    public TimeSpan DeltaPeriod { get; init; } = TimeSpan.FromMinutes(5);

    public long DeltaMaxBytes { get; init; } = DeltaOptions.DefaultMaxBytes;

    public Compression Compression { get; init; } = Compression.None;

    public RetentionPolicy Retention { get; init; } = new RetentionPolicy.Limit(7);

    /// <summary>Where the API listens: an IP address and port, read by <see cref="ListenAddress"/>.</summary>
    public string Listen { get; init; } = "127.0.0.1:8080";

    /// <summary>Read every full snapshot back from the store after upload, end to end (--verify-after-upload).</summary>
    public bool VerifyAfterUpload { get; init; }

    /// <summary>Clusters whose snapshots in the store are this cluster's predecessor's: not a reason to refuse the store.</summary>
    public IReadOnlyList<ulong> ReplacesClusters { get; init; } = [];

    /// <summary>Local directory where deltas wait while the store cannot be reached, or null to retry from etcd's history instead.</summary>
    public string? BufferDir { get; init; }

    /// <summary>Most bytes the buffer directory holds.</summary>
    public long BufferMaxBytes { get; init; } = DefaultBufferMaxBytes;

    public const long DefaultBufferMaxBytes = 1L << 30;

    /// <summary>What POST /initialization/start checks and restores; null when serve was started without --data-dir.</summary>
    public Lifeboat.Etcd.Init.InitOptions? Init { get; init; }

    /// <summary>The bearer token every endpoint but /healthz and /readyz requires, or null for none.</summary>
    public string? ApiToken { get; init; }

    /// <summary>A second store every snapshot is copied to (--mirror-store); null for none.</summary>
    public StoreSettings? Mirror { get; init; }

    /// <summary>The key the mirror's copies are encrypted with (--mirror-encryption-key-file); none copies them as stored.</summary>
    public KeyRing MirrorKeys { get; init; } = new(null, []);

    /// <summary>The effective configuration with secrets replaced, for the start-up log and GET /config.</summary>
    public IReadOnlyDictionary<string, string> Redacted()
    {
        var all = new SortedDictionary<string, string>(Settings(), StringComparer.Ordinal);
        foreach (var (k, v) in Store.Describe(Keys))
        {
            all[k] = v;
        }

        foreach (var (k, v) in Mirror?.Describe(MirrorKeys) ?? [])
        {
            all["mirror-" + k] = v;
        }

        return all;
    }

    private SortedDictionary<string, string> Settings() => new(StringComparer.Ordinal)
    {
        ["endpoints"] = string.Join(",", Etcd.Endpoints),
        ["cacert"] = Etcd.CaCertificateFile ?? "",
        ["cert"] = Etcd.ClientCertificateFile ?? "",
        ["key"] = Etcd.ClientKeyFile is null ? "" : "(set)",
        ["user"] = Etcd.Username ?? "",
        ["password"] = Etcd.Password is null ? "" : "(set)",
        ["verify-after-upload"] = VerifyAfterUpload ? "true" : "false",
        ["replaces-cluster"] = string.Join(",", ReplacesClusters.Select(c => c.ToString("x16", System.Globalization.CultureInfo.InvariantCulture))),
        ["full-schedule"] = FullSchedule.Expression,
        ["time-zone"] = FullSchedule.TimeZone.Id,
        ["delta-period"] = DeltaPeriod.ToString(),
        ["delta-max-bytes"] = DeltaMaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["compression"] = Compression.ToString().ToLowerInvariant(),
        ["retention"] = Retention switch
        {
            RetentionPolicy.Limit l => $"limit({l.FullSnapshots})",
            RetentionPolicy.Exponential e => $"exponential({e.Hours}h,{e.Days}d,{e.Weeks}w)",
            _ => Retention.ToString(),
        },
        ["listen"] = Listen,
        ["buffer-dir"] = BufferDir ?? "",
        ["buffer-max-bytes"] = BufferMaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["api-token"] = ApiToken is null ? "" : "(set)",
        ["data-dir"] = Init?.DataDir ?? "",
        ["name"] = Init?.Member.Name ?? "",
        ["initial-cluster"] = Init?.Member.InitialCluster ?? "",
        ["init-mode"] = Init?.Mode.ToString().ToLowerInvariant() ?? "",
    };
}
