using Lifeboat.Core.Storage;

namespace Lifeboat.Storage.Encryption;

/// <summary>
/// Client-side encryption in front of any store: objects are written encrypted with the ring's write key under
/// <c>&lt;key&gt;.enc-&lt;key id&gt;</c>, and objects whose key ends so are decrypted on reading with the key of that id.
/// Objects without the suffix pass through unchanged either way, so a store that held unencrypted snapshots before
/// encryption was turned on stays readable. Put it outermost, so that every layer beneath (buffering, metering, the
/// store) only ever sees ciphertext and final names.
/// </summary>
public sealed class EncryptedStore(ISnapshotStore inner, KeyRing keys) : ISnapshotStore
{
    public const string Marker = StoreKey.EncryptionMarker;

    public string Location => inner.Location;

    public KeyRing Keys => keys;

    /// <summary>
    /// The store as every command sees it: even with no keys at all, so that an encrypted object is refused with
    /// "no key was given" instead of being read as if it were plain.
    /// </summary>
    public static ISnapshotStore Wrap(ISnapshotStore store, KeyRing keys) => new EncryptedStore(store, keys);

    /// <summary>The id of the key an object is encrypted with, from its name; null when it is not encrypted.</summary>
    public static string? KeyIdOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var at = key.LastIndexOf(Marker, StringComparison.Ordinal);
        if (at < 0 || key.IndexOf('/', at) >= 0)
        {
            return null;
        }

        var id = key[(at + Marker.Length)..];
        return id.Length > 0 && id.All(char.IsAsciiLetterOrDigit) ? id : null;
    }

    public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

    public async Task<IStoreWrite> BeginWriteAsync(CancellationToken cancellationToken)
    {
        var write = await inner.BeginWriteAsync(cancellationToken);
        return keys.WriteKey is { } key ? new EncryptedWrite(write, key) : write;
    }

    public async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        if (KeyIdOf(key) is not { } id)
        {
            return await inner.OpenReadAsync(key, cancellationToken);
        }

        keys.Find(id, key); // refuse before reading anything
        var stream = await inner.OpenReadAsync(key, cancellationToken);
        return await DecryptingStream.OpenAsync(stream, key, id, keys, cancellationToken);
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

    private sealed class EncryptedWrite(IStoreWrite inner, EncryptionKey key) : IStoreWrite
    {
        private readonly EncryptingStream _content = new(inner.Content, key);

        public Stream Content => _content;

        public async Task<StoredObject> CommitAsync(string objectKey, bool overwrite, CancellationToken cancellationToken)
        {
            StoreKey.Validate(objectKey);
            if (KeyIdOf(objectKey) is not null)
            {
                throw new ArgumentException($"'{objectKey}' already names an encryption key; the store adds that itself.", nameof(objectKey));
            }

            await _content.FinishAsync(cancellationToken);
            return await inner.CommitAsync(objectKey + Marker + key.Id, overwrite, cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            await _content.DisposeAsync();
            await inner.DisposeAsync();
        }
    }
}
