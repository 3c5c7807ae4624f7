using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;
using Xunit;

namespace Lifeboat.Testing;

/// <summary>
/// The contract every <see cref="ISnapshotStore"/> keeps. A store's test class derives from this and supplies the
/// store; the S3 store runs the same suite against a real S3 protocol server.
/// </summary>
public abstract class SnapshotStoreContract
{
    /// <summary>A new, empty store for one test.</summary>
    protected abstract Task<ISnapshotStore> CreateStoreAsync();

    private static Task<StoredObject> PutAsync(ISnapshotStore store, string key, byte[] data, bool overwrite = false) =>
        StoreBytes.PutAsync(store, key, data, overwrite);

    private static Task<byte[]> GetAsync(ISnapshotStore store, string key) => StoreBytes.GetAsync(store, key);

    private static async Task<List<StoredObject>> ListAsync(ISnapshotStore store, string prefix = "") =>
        await store.ListAsync(prefix, default).ToListAsync();

    [Fact]
    public async Task Commit_ThenRead_ReturnsTheBytesAndListsOnce()
    {
        var store = await CreateStoreAsync();
        var data = new byte[300_000];
        Random.Shared.NextBytes(data);

        var stored = await PutAsync(store, "etcd/a.db", data);

        Assert.Equal(data.Length, stored.Size);
        Assert.Equal(data, await GetAsync(store, "etcd/a.db"));
        var listed = Assert.Single(await ListAsync(store));
        Assert.Equal("etcd/a.db", listed.Key);
        Assert.Equal(data.Length, listed.Size);
    }

    [Fact]
    public async Task Write_NotCommitted_IsNeverListedOrReadable()
    {
        var store = await CreateStoreAsync();
        await using (var write = await store.BeginWriteAsync(default))
        {
            await write.Content.WriteAsync(new byte[10_000]);
            Assert.Empty(await ListAsync(store)); // not even while it is being written
        }

        Assert.Empty(await ListAsync(store));
        await Assert.ThrowsAsync<StoreException>(() => store.OpenReadAsync("etcd/a.db", default));
    }

    [Fact]
    public async Task Write_FailingMidway_LeavesNothing()
    {
        var store = await CreateStoreAsync();
        var failing = new FailingStore(store) { FailAfterBytes = 5000 };

        await Assert.ThrowsAsync<StoreException>(async () =>
        {
            await using var write = await failing.BeginWriteAsync(default);
            for (var i = 0; i < 10; i++)
            {
                await write.Content.WriteAsync(new byte[1000]);
            }

            await write.CommitAsync("etcd/partial.db", false, default);
        });

        Assert.Empty(await ListAsync(store));
    }

    [Fact]
    public async Task Commit_ExistingKey_IsRefusedUnlessOverwriting()
    {
        var store = await CreateStoreAsync();
        await PutAsync(store, "etcd/a.db", [1, 2, 3]);

        var ex = await Assert.ThrowsAsync<StoreException>(() => PutAsync(store, "etcd/a.db", [9]));
        Assert.Equal(StoreErrorKind.AlreadyExists, ex.Kind);
        Assert.Equal([1, 2, 3], await GetAsync(store, "etcd/a.db"));

        await PutAsync(store, "etcd/a.db", [9], overwrite: true);
        Assert.Equal([9], await GetAsync(store, "etcd/a.db"));
        Assert.Single(await ListAsync(store));
    }

    [Fact]
    public async Task List_ByPrefix_ReturnsOnlyMatchingKeys()
    {
        var store = await CreateStoreAsync();
        await PutAsync(store, "etcd/a.db", [1]);
        await PutAsync(store, "etcd/b.delta", [2]);
        await PutAsync(store, "resources/r.tar.gz", [3]);

        Assert.Equal(["etcd/a.db", "etcd/b.delta"], (await ListAsync(store, "etcd/")).Select(o => o.Key).Order());
        Assert.Equal(3, (await ListAsync(store)).Count);
    }

    [Fact]
    public async Task Delete_RemovesTheObject_AndMissingIsNotAnError()
    {
        var store = await CreateStoreAsync();
        await PutAsync(store, "etcd/a.db", [1]);

        await store.DeleteAsync("etcd/a.db", default);
        await store.DeleteAsync("etcd/a.db", default);

        Assert.Empty(await ListAsync(store));
    }

    [Fact]
    public async Task Read_MissingKey_ThrowsNotFound()
    {
        var store = await CreateStoreAsync();
        var ex = await Assert.ThrowsAsync<StoreException>(() => store.OpenReadAsync("etcd/none.db", default));
        Assert.Equal(StoreErrorKind.NotFound, ex.Kind);
        Assert.False(ex.IsTransient);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("etcd/.hidden")]
    [InlineData("/absolute")]
    [InlineData("etcd//double")]
    [InlineData("etcd/sp ace")]
    public async Task Keys_Invalid_AreRejectedBeforeTouchingTheStore(string key)
    {
        var store = await CreateStoreAsync();
        await using var write = await store.BeginWriteAsync(default);
        await Assert.ThrowsAsync<ArgumentException>(() => write.CommitAsync(key, false, default));
        await Assert.ThrowsAsync<ArgumentException>(() => store.OpenReadAsync(key, default));
        await Assert.ThrowsAsync<ArgumentException>(() => store.DeleteAsync(key, default));
    }

    [Fact]
    public async Task Operations_Cancelled_Throw()
    {
        var store = await CreateStoreAsync();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.BeginWriteAsync(cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await store.ListAsync("", cancelled.Token).ToListAsync());
    }

    [Fact]
    public async Task FailingStore_EveryOperation_ReportsAStoreError()
    {
        var failing = new FailingStore(await CreateStoreAsync()) { FailEverything = true };
        await Assert.ThrowsAsync<StoreException>(() => failing.BeginWriteAsync(default));
        await Assert.ThrowsAsync<StoreException>(async () => await failing.ListAsync("", default).ToListAsync());
        await Assert.ThrowsAsync<StoreException>(() => failing.OpenReadAsync("etcd/a.db", default));
    }
}
