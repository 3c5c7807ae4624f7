using System.Security.Cryptography;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;
using Lifeboat.Storage.Encryption;
using Lifeboat.Storage.Local;
using Lifeboat.Testing;

namespace Lifeboat.Storage.Tests.Encryption;

public sealed class EncryptedStoreTests : IDisposable
{
    private const int Chunk = 64 << 10;
    private readonly TempDirectory _dir = new();
    private readonly LocalDirectoryStore _inner;

    public EncryptedStoreTests() => _inner = LocalDirectoryStore.Open(_dir.Combine("store"));

    public void Dispose() => _dir.Dispose();

    private static EncryptionKey NewKey() => EncryptionKey.FromBytes(RandomNumberGenerator.GetBytes(32));

    private static byte[] RandomBytes(int n) => RandomNumberGenerator.GetBytes(n);

    private static Task<StoredObject> PutAsync(ISnapshotStore store, string key, byte[] data) => StoreBytes.PutAsync(store, key, data, chunk: 10_007);

    private static Task<byte[]> GetAsync(ISnapshotStore store, string key) => StoreBytes.GetAsync(store, key, bufferSize: 3000);

    private string InnerFile(string key) => _dir.Combine("store", key);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Chunk - 1)]
    [InlineData(Chunk)]
    [InlineData(Chunk + 1)]
    [InlineData(3 * Chunk + 5)]
    public async Task RoundTrip_AnySize_ReadsBackExactly_UnderANameCarryingTheKeyId(int size)
    {
        var key = NewKey();
        var store = new EncryptedStore(_inner, new KeyRing(key, []));
        var data = RandomBytes(size);

        var stored = await PutAsync(store, "etcd/a.db", data);

        Assert.Equal($"etcd/a.db.enc-{key.Id}", stored.Key);
        Assert.Equal([stored.Key], await store.ListAsync("", default).Select(o => o.Key).ToListAsync());
        Assert.Equal(data, await GetAsync(store, stored.Key));
        var raw = await File.ReadAllBytesAsync(InnerFile(stored.Key));
        Assert.Equal(size + ((size / Chunk) + 1) * 16 + 8 + 1 + 16 + 4 + 32 - (size > 0 && size % Chunk == 0 ? 16 : 0), raw.Length);
        if (size >= 64)
        {
            Assert.Equal(-1, raw.AsSpan().IndexOf(data.AsSpan(0, 64)));
        }
    }

    private async Task<(ISnapshotStore Store, string Key, byte[] Raw, int HeaderLength)> StoredAsync(int size)
    {
        var key = NewKey();
        var store = new EncryptedStore(_inner, new KeyRing(key, []));
        var stored = await PutAsync(store, "etcd/a.db", RandomBytes(size));
        return (store, stored.Key, await File.ReadAllBytesAsync(InnerFile(stored.Key)), 8 + 1 + key.Id.Length + 4 + 32);
    }

    [Fact]
    public async Task Truncated_AtAChunkBoundary_IsDetected()
    {
        var (store, key, raw, header) = await StoredAsync(3 * Chunk + 100);
        await File.WriteAllBytesAsync(InnerFile(key), raw.AsSpan(0, header + 2 * (Chunk + 16)).ToArray());

        var ex = await Assert.ThrowsAsync<IntegrityException>(() => GetAsync(store, key));
        Assert.Contains("cut short", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Truncated_MidChunk_IsDetected()
    {
        var (store, key, raw, _) = await StoredAsync(3 * Chunk + 100);
        await File.WriteAllBytesAsync(InnerFile(key), raw.AsSpan(0, raw.Length - 50).ToArray());

        await Assert.ThrowsAsync<IntegrityException>(() => GetAsync(store, key));
    }

    [Fact]
    public async Task Chunks_Reordered_AreDetected()
    {
        var (store, key, raw, header) = await StoredAsync(3 * Chunk + 100);
        var sealedChunk = Chunk + 16;
        var swapped = raw.ToArray();
        raw.AsSpan(header, sealedChunk).CopyTo(swapped.AsSpan(header + sealedChunk));
        raw.AsSpan(header + sealedChunk, sealedChunk).CopyTo(swapped.AsSpan(header));
        await File.WriteAllBytesAsync(InnerFile(key), swapped);

        var ex = await Assert.ThrowsAsync<IntegrityException>(() => GetAsync(store, key));
        Assert.Contains("chunk 0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AByteChanged_OrBytesAppended_AreDetected()
    {
        var (store, key, raw, _) = await StoredAsync(2 * Chunk);
        var flipped = raw.ToArray();
        flipped[raw.Length / 2] ^= 1;
        await File.WriteAllBytesAsync(InnerFile(key), flipped);
        await Assert.ThrowsAsync<IntegrityException>(() => GetAsync(store, key));

        await File.WriteAllBytesAsync(InnerFile(key), [.. raw, 0, 0, 0]);
        await Assert.ThrowsAsync<IntegrityException>(() => GetAsync(store, key));
    }

    [Fact]
    public async Task HeaderKeyId_ChangedToMatchAnotherKey_IsRefusedOrFails()
    {
        var (_, key, raw, _) = await StoredAsync(1000);
        var other = NewKey();
        var renamed = key[..key.LastIndexOf('-')] + "-" + other.Id;
        var forged = raw.ToArray();
        System.Text.Encoding.ASCII.GetBytes(other.Id).CopyTo(forged, 9);
        await File.WriteAllBytesAsync(InnerFile(renamed), forged);

        var store = new EncryptedStore(_inner, new KeyRing(other, []));
        await Assert.ThrowsAsync<IntegrityException>(() => GetAsync(store, renamed));
    }

    [Fact]
    public async Task WrongKey_IsRefusedBeforeAnythingIsRead_NamingTheKeyIds()
    {
        var (_, key, _, _) = await StoredAsync(1000);
        var wrong = NewKey();
        var counting = new CountingStore(_inner);
        var store = new EncryptedStore(counting, new KeyRing(wrong, []));

        var ex = await Assert.ThrowsAsync<KeyUnavailableException>(() => store.OpenReadAsync(key, default));

        Assert.Equal(0, counting.Reads);
        Assert.Contains(key[(key.LastIndexOf('-') + 1)..], ex.Message, StringComparison.Ordinal);
        Assert.Contains(wrong.Id, ex.Message, StringComparison.Ordinal);
        Assert.Contains("--decryption-key-file", ex.Hint, StringComparison.Ordinal);

        var none = new EncryptedStore(_inner, new KeyRing(null, []));
        var missing = await Assert.ThrowsAsync<KeyUnavailableException>(() => none.OpenReadAsync(key, default));
        Assert.Contains("no key was given", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotation_NewObjectsUseTheNewKey_OldOnesStayReadableWithTheOldKeyGivenForDecryption()
    {
        var oldKey = NewKey();
        var newKey = NewKey();
        var before = await PutAsync(new EncryptedStore(_inner, new KeyRing(oldKey, [])), "etcd/old.db", [1, 2, 3]);

        var rotated = new EncryptedStore(_inner, new KeyRing(newKey, [oldKey]));
        var after = await PutAsync(rotated, "etcd/new.db", [4, 5]);

        Assert.EndsWith(newKey.Id, after.Key, StringComparison.Ordinal);
        Assert.Equal([1, 2, 3], await GetAsync(rotated, before.Key));
        Assert.Equal([4, 5], await GetAsync(rotated, after.Key));
        await Assert.ThrowsAsync<KeyUnavailableException>(() => GetAsync(new EncryptedStore(_inner, new KeyRing(newKey, [])), before.Key));
    }

    [Fact]
    public async Task UnencryptedObjects_PassThrough()
    {
        await PutAsync(_inner, "etcd/plain.db", [7, 8]);
        var store = new EncryptedStore(_inner, new KeyRing(NewKey(), []));

        Assert.Equal([7, 8], await GetAsync(store, "etcd/plain.db"));
    }

    [Fact]
    public async Task KeyFiles_RawBytesOrPassphrase_GiveStableIds_AndShortPassphrasesAreRefused()
    {
        var raw = _dir.Combine("raw.key");
        await File.WriteAllBytesAsync(raw, RandomBytes(32));
        var phrase = _dir.Combine("phrase.key");
        await File.WriteAllTextAsync(phrase, "correct horse battery staple\n");
        var shortPhrase = _dir.Combine("short.key");
        await File.WriteAllTextAsync(shortPhrase, "hunter2\n");

        Assert.Equal(EncryptionKey.Load(raw).Id, EncryptionKey.Load(raw).Id);
        var fromPhrase = EncryptionKey.Load(phrase);
        Assert.Equal(16, fromPhrase.Id.Length);
        await File.WriteAllTextAsync(phrase, "  correct horse battery staple  "); // 32 bytes of text: still a passphrase
        Assert.Equal(fromPhrase.Id, EncryptionKey.Load(phrase).Id);
        var hex = _dir.Combine("hex.key");
        await File.WriteAllTextAsync(hex, Convert.ToHexString(await File.ReadAllBytesAsync(raw)) + "\n");
        Assert.Equal(EncryptionKey.Load(raw).Id, EncryptionKey.Load(hex).Id);
        Assert.NotEqual(fromPhrase.Id, EncryptionKey.Load(raw).Id);
        var ex = Assert.Throws<ArgumentException>(() => EncryptionKey.Load(shortPhrase));
        Assert.Contains("head -c 32 /dev/urandom", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => EncryptionKey.Load(_dir.Combine("missing.key")));
    }

    [Fact]
    public async Task Write_Abandoned_LeavesNothing()
    {
        var store = new EncryptedStore(_inner, new KeyRing(NewKey(), []));
        await using (var write = await store.BeginWriteAsync(default))
        {
            await write.Content.WriteAsync(RandomBytes(200_000));
        }

        Assert.Empty(await store.ListAsync("", default).ToListAsync());
    }

    private sealed class CountingStore(ISnapshotStore inner) : ISnapshotStore
    {
        public int Reads;

        public string Location => inner.Location;

        public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

        public Task<IStoreWrite> BeginWriteAsync(CancellationToken cancellationToken) => inner.BeginWriteAsync(cancellationToken);

        public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Reads);
            return inner.OpenReadAsync(key, cancellationToken);
        }

        public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);
    }
}
