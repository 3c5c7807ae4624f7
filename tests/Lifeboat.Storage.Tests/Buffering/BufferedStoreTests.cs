using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;
using Lifeboat.Storage.Buffering;
using Lifeboat.Storage.Local;
using Lifeboat.Testing;

namespace Lifeboat.Storage.Tests.Buffering;

/// <summary>The buffer in front of a store: the store contract holds through it, and nothing is lost while the store is down.</summary>
public sealed class BufferedStoreTests : SnapshotStoreContract, IDisposable
{
    private readonly TempDirectory _dir = new();

    protected override async Task<ISnapshotStore> CreateStoreAsync()
    {
        var id = Guid.NewGuid().ToString("N");
        return await BufferedStore.OpenAsync(LocalDirectoryStore.Open(_dir.Combine($"primary-{id}")), _dir.Combine($"buffer-{id}"), 1 << 30);
    }

    public void Dispose() => _dir.Dispose();

    private static async Task PutAsync(ISnapshotStore store, string key, int size)
    {
        await using var write = await store.BeginWriteAsync(default);
        await write.Content.WriteAsync(Payload(key, size));
        await write.CommitAsync(key, overwrite: false, default);
    }

    private static byte[] Payload(string key, int size)
    {
        var data = new byte[size];
        new Random(key.GetHashCode(StringComparison.Ordinal)).NextBytes(data);
        return data;
    }

    private static async Task<byte[]> ReadAsync(ISnapshotStore store, string key)
    {
        await using var stream = await store.OpenReadAsync(key, default);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private static async Task<List<string>> KeysAsync(ISnapshotStore store) =>
        (await store.ListAsync("", default).Select(o => o.Key).ToListAsync()).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public async Task Commit_PrimaryUp_GoesStraightThrough_AndLeavesTheBufferEmpty()
    {
        var primary = LocalDirectoryStore.Open(_dir.Combine("primary"));
        using var store = await BufferedStore.OpenAsync(primary, _dir.Combine("buffer"), 1 << 20);

        await PutAsync(store, "a/1", 1000);

        Assert.Equal(["a/1"], await KeysAsync(primary));
        Assert.Equal(0, store.BufferedObjects);
        Assert.Empty(await KeysAsync(LocalDirectoryStore.Open(_dir.Combine("buffer"))));
    }

    [Fact]
    public async Task Commit_PrimaryDown_IsBuffered_Readable_AndUploadedInKeyOrderWhenItIsBack()
    {
        var primary = new FailingStore(LocalDirectoryStore.Open(_dir.Combine("primary"))) { FailEverything = true };
        using var store = await BufferedStore.OpenAsync(primary, _dir.Combine("buffer"), 1 << 20);
        await PutAsync(store, "d/002", 3000);
        await PutAsync(store, "d/001", 2000);
        await PutAsync(store, "d/003", 1000);

        Assert.Equal(3, store.BufferedObjects);
        Assert.Equal(6000, store.BufferedBytes);
        Assert.Equal(Payload("d/001", 2000), await ReadAsync(store, "d/001"));
        await Assert.ThrowsAsync<StoreException>(() => store.DrainAsync(default)); // still down: nothing lost

        primary.FailEverything = false;
        var order = new List<string>();
        using var reopened = await BufferedStore.OpenAsync(primary, _dir.Combine("buffer"), 1 << 20, (key, _) =>
        {
            order.Add(key);
            return Task.FromResult(BufferDecision.Upload);
        });
        Assert.Equal(3, reopened.BufferedObjects); // a new process finds what the last one buffered
        Assert.Equal(BufferDecision.Upload, await reopened.DrainAsync(default));

        Assert.Equal(["d/001", "d/002", "d/003"], order);
        Assert.Equal(["d/001", "d/002", "d/003"], await KeysAsync(primary));
        Assert.Equal(Payload("d/003", 1000), await ReadAsync(primary, "d/003"));
        Assert.Empty(await KeysAsync(LocalDirectoryStore.Open(_dir.Combine("buffer"))));
    }

    [Fact]
    public async Task Uploader_RunsInTheBackground_UntilTheBufferIsEmpty()
    {
        var primary = new FailingStore(LocalDirectoryStore.Open(_dir.Combine("primary"))) { FailEverything = true };
        using var store = await BufferedStore.OpenAsync(primary, _dir.Combine("buffer"), 1 << 20);
        using var stop = new CancellationTokenSource();
        var uploader = store.RunUploaderAsync(stop.Token);
        await PutAsync(store, "k/1", 10);
        await PutAsync(store, "k/2", 10);

        primary.FailEverything = false;
        await Eventually.SucceedsAsync(ct => Task.FromResult(store.BufferedObjects == 0 ? 0 : throw new InvalidOperationException($"{store.BufferedObjects} left")),
            TimeSpan.FromSeconds(30), "the uploader to empty the buffer");
        await PutAsync(store, "k/3", 10); // back to straight through

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => uploader);
        Assert.Equal(["k/1", "k/2", "k/3"], await KeysAsync(primary));
    }

    [Fact]
    public async Task Commit_PrimaryDown_AndBufferFull_FailsAndLeavesNothing()
    {
        var primary = new FailingStore(LocalDirectoryStore.Open(_dir.Combine("primary"))) { FailEverything = true };
        using var store = await BufferedStore.OpenAsync(primary, _dir.Combine("buffer"), 5000);
        await PutAsync(store, "b/1", 4000);

        var error = await Assert.ThrowsAsync<StoreException>(() => PutAsync(store, "b/2", 4000));

        Assert.Equal(StoreErrorKind.Unavailable, error.Kind);
        Assert.Contains("buffer is full", error.Message, StringComparison.Ordinal);
        Assert.Contains("--buffer-max-bytes", error.Hint, StringComparison.Ordinal);
        Assert.Equal(1, store.BufferedObjects);
        Assert.Equal(["b/1"], await KeysAsync(LocalDirectoryStore.Open(_dir.Combine("buffer"))));
    }

    [Fact]
    public async Task Gate_DiscardAndWait_AreHonoured()
    {
        var primary = new FailingStore(LocalDirectoryStore.Open(_dir.Combine("primary"))) { FailEverything = true };
        using (var down = await BufferedStore.OpenAsync(primary, _dir.Combine("buffer"), 1 << 20))
        {
            await PutAsync(down, "g/1", 10);
            await PutAsync(down, "g/2", 10);
        }

        primary.FailEverything = false;
        var waitOnSecond = true;
        using var gated = await BufferedStore.OpenAsync(primary, _dir.Combine("buffer"), 1 << 20,
            (key, _) => Task.FromResult(key == "g/1" ? BufferDecision.Discard : waitOnSecond ? BufferDecision.Wait : BufferDecision.Upload));

        Assert.Equal(BufferDecision.Wait, await gated.DrainAsync(default));
        Assert.Empty(await KeysAsync(primary));
        Assert.Equal(1, gated.BufferedObjects);

        waitOnSecond = false;
        Assert.Equal(BufferDecision.Upload, await gated.DrainAsync(default));
        Assert.Equal(["g/2"], await KeysAsync(primary));
    }

    [Fact]
    public async Task Upload_InterruptedAfterThePrimaryCommitted_IsNotDuplicatedOrRefused()
    {
        var primary = LocalDirectoryStore.Open(_dir.Combine("primary"));
        var buffer = LocalDirectoryStore.Open(_dir.Combine("buffer"));
        await PutAsync(primary, "x/1", 500); // uploaded, but the buffered copy survived a crash
        await PutAsync(buffer, "x/1", 500);

        using var store = await BufferedStore.OpenAsync(primary, _dir.Combine("buffer"), 1 << 20);
        await store.DrainAsync(default);

        Assert.Equal(0, store.BufferedObjects);
        Assert.Equal(["x/1"], await KeysAsync(primary));
    }
}
