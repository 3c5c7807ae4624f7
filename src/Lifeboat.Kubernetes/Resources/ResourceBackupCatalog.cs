using System.Text.RegularExpressions;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;

namespace Lifeboat.Kubernetes.Resources;

/// <summary>
/// Owns the keys of resource backups in a store: <c>resources/&lt;name&gt;/&lt;name&gt;.tar.gz</c> (the archive) and
/// <c>resources/&lt;name&gt;/lifeboat-backup.json</c> (its manifest), each with the encryption suffix the store adds.
/// The manifest is committed after the archive, so a backup is listed only once both are complete; an archive without
/// a manifest (a run that died between the two) is never listed and is removed by the next backup of that name.
/// </summary>
public sealed partial class ResourceBackupCatalog(ISnapshotStore store)
{
    public const string Prefix = "resources/";
    private const string ManifestFile = "lifeboat-backup.json";

    public ISnapshotStore Store => store;

    public static string ArchiveKey(string name) => $"{Prefix}{name}/{name}.tar.gz";

    public static string ManifestKey(string name) => $"{Prefix}{name}/{ManifestFile}";

    /// <summary>Backup names: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 200 characters.</summary>
    public static void ValidateName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or > 200 || !NamePattern().IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a valid backup name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (at most 200 characters)");
        }
    }

    /// <summary>The manifests of every complete backup, newest first.</summary>
    public async Task<List<BackupManifest>> ListAsync(CancellationToken cancellationToken)
    {
        var manifests = new List<BackupManifest>();
        await foreach (var (key, _) in ManifestKeysAsync(cancellationToken))
        {
            manifests.Add(await ReadManifestAsync(key, cancellationToken));
        }

        return manifests.OrderByDescending(m => m.StartedAt).ThenBy(m => m.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>A complete backup as a listing sees it: its manifest, or, when that is encrypted with a key not given, the key's id.</summary>
    public sealed record Entry(string Name, BackupManifest? Manifest, string? LockedWithKey);

    /// <summary>
    /// Every complete backup, newest first; those whose manifest is encrypted with a key that was not given are listed
    /// by name with the key's id (last), rather than failing the whole listing.
    /// </summary>
    public async Task<List<Entry>> ListEntriesAsync(CancellationToken cancellationToken)
    {
        var readable = new List<Entry>();
        var locked = new List<Entry>();
        await foreach (var (key, name) in ManifestKeysAsync(cancellationToken))
        {
            try
            {
                var manifest = await ReadManifestAsync(key, cancellationToken);
                readable.Add(new Entry(manifest.Name, manifest, null));
            }
            catch (KeyUnavailableException)
            {
                // The key id is what encryption appended to the key: what StoreKey.WithoutEncryption takes off.
                locked.Add(new Entry(name, null, key[(StoreKey.WithoutEncryption(key).Length + StoreKey.EncryptionMarker.Length)..]));
            }
        }

        return [.. readable.OrderByDescending(e => e.Manifest!.StartedAt).ThenBy(e => e.Name, StringComparer.Ordinal),
            .. locked.OrderBy(e => e.Name, StringComparer.Ordinal)];
    }

    /// <summary>The stored keys of every backup's manifest (as stored: with the encryption suffix), and the backup's name.</summary>
    private async IAsyncEnumerable<(string Key, string Name)> ManifestKeysAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in store.ListAsync(Prefix, cancellationToken))
        {
            if (StoreKey.WithoutEncryption(item.Key).Split('/') is [_, var name, ManifestFile])
            {
                yield return (item.Key, name);
            }
        }
    }

    /// <summary>The manifest of a complete backup, or null when there is none of that name.</summary>
    public async Task<BackupManifest?> FindAsync(string name, CancellationToken cancellationToken)
    {
        ValidateName(name);
        var objects = await ObjectsOfAsync(name, cancellationToken);
        var manifest = objects.FirstOrDefault(o => StoreKey.WithoutEncryption(o.Key) == ManifestKey(name));
        return manifest is null ? null : await ReadManifestAsync(manifest.Key, cancellationToken);
    }

    /// <summary>Reads a backup whole: its manifest and objects.</summary>
    /// <exception cref="ResourceRefusedException">No complete backup of that name.</exception>
    public async Task<(BackupManifest Manifest, List<ArchivedObject> Objects)> ReadAsync(string name, CancellationToken cancellationToken)
    {
        var manifest = await FindAsync(name, cancellationToken)
            ?? throw new ResourceRefusedException($"there is no resource backup '{name}' in {store.Location}", "list them with lifeboat resources list");
        var key = manifest.ArchiveKey ?? throw new IntegrityException($"the manifest of backup '{name}' names no archive", "take a new backup");
        await using var stream = await store.OpenReadAsync(key, cancellationToken);
        var (inner, objects) = await BackupArchive.ReadAsync(stream, $"backup '{name}' ({key})", cancellationToken);
        if (inner.Name != name)
        {
            throw new IntegrityException($"the archive {key} belongs to backup '{inner.Name}', not '{name}'", "the store was tampered with; restore from another backup");
        }

        return (manifest, objects);
    }

    /// <summary>Deletes a backup: the manifest first (so it stops being listed), then the archive and anything else of it.</summary>
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        var objects = await ObjectsOfAsync(name, cancellationToken);
        foreach (var o in objects.OrderBy(o => StoreKey.WithoutEncryption(o.Key) == ManifestKey(name) ? 0 : 1))
        {
            await store.DeleteAsync(o.Key, cancellationToken);
        }

        return objects.Count > 0;
    }

    /// <summary>Everything stored under the backup's folder.</summary>
    public async Task<List<StoredObject>> ObjectsOfAsync(string name, CancellationToken cancellationToken)
    {
        ValidateName(name);
        var found = new List<StoredObject>();
        await foreach (var item in store.ListAsync($"{Prefix}{name}/", cancellationToken))
        {
            found.Add(item);
        }

        return found;
    }

    private async Task<BackupManifest> ReadManifestAsync(string key, CancellationToken cancellationToken)
    {
        await using var stream = await store.OpenReadAsync(key, cancellationToken);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        return BackupArchive.ParseManifest(buffer.ToArray(), key);
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}

/// <summary>A resource backup or restore was refused before anything was changed (a name taken, no such backup).</summary>
public sealed class ResourceRefusedException(string message, string? hint)
    : LifeboatException(message, hint, null)
{
    public override bool IsTransient => false;
}
