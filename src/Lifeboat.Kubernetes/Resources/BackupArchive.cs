using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lifeboat.Core.Codecs;
using Lifeboat.Core.Errors;
using Lifeboat.Kubernetes.Client;
using CompressionKind = Lifeboat.Core.Snapshots.Compression;

namespace Lifeboat.Kubernetes.Resources;

/// <summary>One object in a backup archive, as stored (server fields stripped).</summary>
/// <param name="Resource"><c>plural.group</c>, or the plural alone in the core group.</param>
public sealed record ArchivedObject(string Resource, string? Namespace, string Name, JsonObject Content)
{
    public string Group => Resource.IndexOf('.', StringComparison.Ordinal) is var dot and >= 0 ? Resource[(dot + 1)..] : "";

    public string Plural => Resource.IndexOf('.', StringComparison.Ordinal) is var dot and >= 0 ? Resource[..dot] : Resource;

    public string Kind => (string?)Content["kind"] ?? "";

    public string ApiVersion => (string?)Content["apiVersion"] ?? "";

    public string Path => BackupArchive.EntryPath(Resource, Namespace, Name);

    public override string ToString() => Namespace is null ? $"{Resource}/{Name}" : $"{Resource} {Namespace}/{Name}";
}

/// <summary>
/// The archive format, Velero's layout: a gzip-compressed tar holding <c>metadata/version</c>,
/// <c>metadata/backup.json</c> (the <see cref="BackupManifest"/>) and one JSON file per object at
/// <c>resources/&lt;plural.group&gt;/namespaces/&lt;ns&gt;/&lt;name&gt;.json</c> or <c>resources/&lt;plural.group&gt;/cluster/&lt;name&gt;.json</c>.
/// </summary>
public static class BackupArchive
{
    public const string VersionEntry = "metadata/version";
    public const string ManifestEntry = "metadata/backup.json";

    private static readonly JsonSerializerOptions Indented = new(KubeJson.Options) { WriteIndented = true };

    public static string EntryPath(string resource, string? ns, string name) =>
        ns is null ? $"resources/{resource}/cluster/{name}.json" : $"resources/{resource}/namespaces/{ns}/{name}.json";

    public static byte[] ManifestBytes(BackupManifest manifest) => JsonSerializer.SerializeToUtf8Bytes(manifest, Indented);

    public static BackupManifest ParseManifest(byte[] bytes, string where)
    {
        try
        {
            return JsonSerializer.Deserialize<BackupManifest>(bytes, KubeJson.Options) ?? throw new JsonException("empty");
        }
        catch (JsonException ex)
        {
            throw new IntegrityException($"{where} is not a Lifeboat backup manifest ({ex.Message})", "the backup is damaged; take a new one");
        }
    }

    /// <summary>Writes an archive into a stream (which it leaves open).</summary>
    public sealed class Writer : IAsyncDisposable
    {
        private readonly Stream _compressed;
        private readonly TarWriter _tar;
        private readonly DateTimeOffset _time;

        public Writer(Stream destination, DateTimeOffset time)
        {
            _compressed = SnapshotCodec.Compressing(destination, CompressionKind.Gzip);
            _tar = new TarWriter(_compressed, TarEntryFormat.Pax, leaveOpen: true);
            _time = time;
        }

        public Task AddAsync(ArchivedObject item, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(item);
            return AddAsync(item.Path, Encoding.UTF8.GetBytes(item.Content.ToJsonString(Indented)), cancellationToken);
        }

        public async Task FinishAsync(BackupManifest manifest, CancellationToken cancellationToken)
        {
            await AddAsync(VersionEntry, Encoding.ASCII.GetBytes(BackupManifest.CurrentFormat + "\n"), cancellationToken);
            await AddAsync(ManifestEntry, ManifestBytes(manifest), cancellationToken);
            await _tar.DisposeAsync();
            await _compressed.DisposeAsync();
        }

        private async Task AddAsync(string path, byte[] bytes, CancellationToken cancellationToken)
        {
            using var data = new MemoryStream(bytes, writable: false);
            var entry = new PaxTarEntry(TarEntryType.RegularFile, path) { DataStream = data, ModificationTime = _time, Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
            await _tar.WriteEntryAsync(entry, cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            await _tar.DisposeAsync();
            await _compressed.DisposeAsync();
        }
    }

    /// <summary>
    /// Reads a whole archive: its manifest and every object. The object count must match the manifest's, so that an
    /// archive cut short (or one with entries added) is refused, not half restored.
    /// </summary>
    /// <exception cref="IntegrityException">Not a Lifeboat archive, damaged, or not matching its manifest.</exception>
    public static async Task<(BackupManifest Manifest, List<ArchivedObject> Objects)> ReadAsync(Stream source, string where, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        BackupManifest? manifest = null;
        var objects = new List<ArchivedObject>();
        try
        {
            await using var decompressed = SnapshotCodec.Decompressing(source, CompressionKind.Gzip);
            await using var tar = new TarReader(decompressed, leaveOpen: true);
            while (await tar.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                {
                    continue;
                }

                using var buffer = new MemoryStream();
                await entry.DataStream.CopyToAsync(buffer, cancellationToken);
                var bytes = buffer.ToArray();
                if (entry.Name == ManifestEntry)
                {
                    manifest = ParseManifest(bytes, $"{where} ({ManifestEntry})");
                }
                else if (entry.Name == VersionEntry)
                {
                    var version = Encoding.ASCII.GetString(bytes).Trim();
                    if (version != BackupManifest.CurrentFormat.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    {
                        throw new IntegrityException($"{where} has archive format {version}; this Lifeboat reads format {BackupManifest.CurrentFormat}",
                            "restore it with the Lifeboat version that wrote it");
                    }
                }
                else if (TryParsePath(entry.Name, out var resource, out var ns, out var name))
                {
                    var item = JsonNode.Parse(bytes) as JsonObject ?? throw new JsonException($"{entry.Name} is not a JSON object");
                    objects.Add(new ArchivedObject(resource, ns, name, item));
                }
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or FormatException or EndOfStreamException)
        {
            throw new IntegrityException($"{where} is damaged: {ex.Message}", "the archive cannot be read; restore from another backup");
        }

        if (manifest is null)
        {
            throw new IntegrityException($"{where} has no {ManifestEntry}: it is not a complete Lifeboat backup", "restore from another backup");
        }

        if (manifest.TotalItems != objects.Count)
        {
            throw new IntegrityException($"{where} holds {objects.Count} objects but its manifest lists {manifest.TotalItems}", "the archive is damaged; restore from another backup");
        }

        return (manifest, objects);
    }

    private static bool TryParsePath(string path, out string resource, out string? ns, out string name)
    {
        resource = name = "";
        ns = null;
        var parts = path.Split('/');
        if (parts is ["resources", var r, "cluster", var file] && file.EndsWith(".json", StringComparison.Ordinal))
        {
            (resource, name) = (r, file[..^5]);
            return name.Length > 0;
        }

        if (parts is ["resources", var r2, "namespaces", var n, var file2] && file2.EndsWith(".json", StringComparison.Ordinal))
        {
            (resource, ns, name) = (r2, n, file2[..^5]);
            return name.Length > 0;
        }

        return false;
    }
}
