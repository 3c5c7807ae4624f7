using Lifeboat.Core.Storage;

namespace Lifeboat.Testing;

/// <summary>Whole objects in and out of a store, for tests.</summary>
public static class StoreBytes
{
    /// <summary>Writes <paramref name="data"/> in writes of at most <paramref name="chunk"/> bytes, then commits it.</summary>
    public static async Task<StoredObject> PutAsync(ISnapshotStore store, string key, byte[] data, bool overwrite = false, int chunk = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(data);
        await using var write = await store.BeginWriteAsync(default);
        for (var i = 0; i < data.Length; i += chunk)
        {
            await write.Content.WriteAsync(data.AsMemory(i, Math.Min(chunk, data.Length - i)));
        }

        return await write.CommitAsync(key, overwrite, default);
    }

    /// <summary>Reads a whole object, in reads of at most <paramref name="bufferSize"/> bytes.</summary>
    public static async Task<byte[]> GetAsync(ISnapshotStore store, string key, int bufferSize = 81920)
    {
        ArgumentNullException.ThrowIfNull(store);
        await using var stream = await store.OpenReadAsync(key, default);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, bufferSize);
        return copy.ToArray();
    }
}
