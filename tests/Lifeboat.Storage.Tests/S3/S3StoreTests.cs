using Amazon.Runtime;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;
using Lifeboat.Storage.S3;
using Lifeboat.Testing;

namespace Lifeboat.Storage.Tests.S3;

/// <summary>One s3rver for the whole class; every test gets its own prefix, so each store starts empty.</summary>
public sealed class S3ServerFixture : IAsyncLifetime
{
    public S3Server Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await S3Server.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class S3StoreTests(S3ServerFixture fixture) : SnapshotStoreContract, IClassFixture<S3ServerFixture>, IDisposable
{
    private readonly List<S3Store> _stores = [];

    private S3Server Server => fixture.Server;

    protected override Task<ISnapshotStore> CreateStoreAsync() => Task.FromResult<ISnapshotStore>(Open());

    private S3Store Open(Func<S3StoreOptions, S3StoreOptions>? configure = null, string? prefix = null)
    {
        var options = Server.StoreOptions(prefix ?? $"t-{Guid.NewGuid():N}/");
        var store = S3Store.Open(configure is null ? options : configure(options));
        _stores.Add(store);
        return store;
    }

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }
    }

    private static byte[] RandomBytes(int length)
    {
        var data = new byte[length];
        Random.Shared.NextBytes(data);
        return data;
    }

    private static Task<StoredObject> PutAsync(S3Store store, string key, byte[] data, int chunk = 100_000) =>
        StoreBytes.PutAsync(store, key, data, chunk: chunk);

    private static Task<byte[]> GetAsync(S3Store store, string key) => StoreBytes.GetAsync(store, key);

    private IEnumerable<string> ServerFiles(string prefix) =>
        Directory.Exists(Path.Combine(Server.DataDir, S3Server.Bucket, prefix.TrimEnd('/')))
            ? Directory.EnumerateFiles(Path.Combine(Server.DataDir, S3Server.Bucket, prefix.TrimEnd('/')), "*", SearchOption.AllDirectories)
            : [];

    [Fact]
    public async Task Multipart_ManyPartsInParallel_ReadsBackExactly_AndLeavesNoTemporaryObject()
    {
        var store = Open();
        var data = RandomBytes((256 << 10) * 9 + 12_345); // 10 parts, the last one short

        var stored = await PutAsync(store, "etcd/full.db", data, chunk: 70_001);

        Assert.Equal(data.Length, stored.Size);
        Assert.Equal(data, await GetAsync(store, "etcd/full.db"));
        Assert.Equal(["etcd/full.db"], (await store.ListAsync("", default).ToListAsync()).Select(o => o.Key));
        Assert.DoesNotContain(ServerFiles(store.Options.Prefix), f => f.Contains("/.tmp/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Multipart_ExactlyOnePartAndExactMultiples_RoundTrip()
    {
        var store = Open();
        foreach (var (key, size) in new[] { ("a", 256 << 10), ("b", 512 << 10), ("c", 0), ("d", 1) })
        {
            var data = RandomBytes(size);
            await PutAsync(store, key, data);
            Assert.Equal(data, await GetAsync(store, key));
        }
    }

    [Fact]
    public async Task Write_AbandonedAfterPartsWereUploaded_LeavesNothingVisibleOrOnTheServer()
    {
        var store = Open();
        await using (var write = await store.BeginWriteAsync(default))
        {
            await write.Content.WriteAsync(RandomBytes(1 << 20));
            Assert.Empty(await store.ListAsync("", default).ToListAsync());
        }

        Assert.Empty(await store.ListAsync("", default).ToListAsync());
        Assert.Empty(await store.ListAsync(".tmp/", default).ToListAsync());
    }

    [Fact]
    public async Task Commit_LargeObjectOverExisting_IsRefused_AndTheTemporaryUploadIsRemoved()
    {
        var store = Open();
        var original = RandomBytes(10);
        await PutAsync(store, "etcd/a.db", original);

        var ex = await Assert.ThrowsAsync<StoreException>(() => PutAsync(store, "etcd/a.db", RandomBytes(1 << 20)));

        Assert.Equal(StoreErrorKind.AlreadyExists, ex.Kind);
        Assert.Equal(original, await GetAsync(store, "etcd/a.db"));
        Assert.DoesNotContain(ServerFiles(store.Options.Prefix), f => f.Contains("/.tmp/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task List_PagesBeyondOneThousandKeys()
    {
        var store = Open();
        await Parallel.ForEachAsync(Enumerable.Range(0, 1005), new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, _) => await PutAsync(store, $"etcd/k{i:D4}", [(byte)i]));

        var keys = await store.ListAsync("etcd/", default).Select(o => o.Key).ToListAsync();

        Assert.Equal(1005, keys.Distinct().Count());
    }

    [Theory]
    [InlineData(100_000)] // one part: put directly
    [InlineData(600_000)] // multipart, then copied into place
    public async Task Read_ObjectAlteredInTheStore_IsAnIntegrityError(int size)
    {
        var store = Open();
        var data = RandomBytes(size);
        await PutAsync(store, "etcd/a.db", data);
        var file = Server.ObjectFile(store.Options.Prefix + "etcd/a.db");
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[size / 2] ^= 0x40;
        await File.WriteAllBytesAsync(file, bytes);

        var ex = await Assert.ThrowsAsync<IntegrityException>(() => GetAsync(store, "etcd/a.db"));
        Assert.Contains("etcd/a.db", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongCredentials_AreOneClearAccessDenied()
    {
        // s3rver checks the access key id but not SigV4 signatures, so the wrong part is the key id.
        var store = Open(o => o with { Credentials = new BasicAWSCredentials("WRONGKEY", "not-the-secret") });

        var ex = await Assert.ThrowsAsync<StoreException>(async () => await store.ListAsync("", default).ToListAsync());

        Assert.Equal(StoreErrorKind.AccessDenied, ex.Kind);
        Assert.Contains("refused the credentials (InvalidAccessKeyId)", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain("not-the-secret", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingBucket_SaysSo()
    {
        var store = Open(o => o with { Bucket = "no-such-bucket" });

        var ex = await Assert.ThrowsAsync<StoreException>(async () => await store.ListAsync("", default).ToListAsync());

        Assert.Equal(StoreErrorKind.InvalidLocation, ex.Kind);
        Assert.Contains("bucket 'no-such-bucket' does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FileCredentials_AreReadAgainWhenTheSecretRotates()
    {
        using var dir = new TempDirectory();
        // Laid out and rotated as the kubelet does it: the visible files are links that never change themselves.
        var secret = MountedSecret.Create(dir.Combine("secret"), new Dictionary<string, string>
        {
            [FileCredentials.AccessKeyFile] = "OLDKEY\n",
            [FileCredentials.SecretKeyFile] = "old-secret\n",
        });
        var store = Open(o => o with { Credentials = FileCredentials.Open(secret.Directory) });
        var denied = await Assert.ThrowsAsync<StoreException>(async () => await store.ListAsync("", default).ToListAsync());
        Assert.Equal(StoreErrorKind.AccessDenied, denied.Kind);

        secret.Update(new Dictionary<string, string> { [FileCredentials.AccessKeyFile] = S3Server.AccessKey, [FileCredentials.SecretKeyFile] = S3Server.SecretKey });

        Assert.Empty(await store.ListAsync("", default).ToListAsync());
    }

    [Fact]
    public void FileCredentials_MissingDirectory_FailsAtOnceNamingTheFiles()
    {
        var ex = Assert.Throws<StoreException>(() => FileCredentials.Open("/nonexistent/lifeboat-creds"));
        Assert.Contains("accessKeyID", ex.Message + ex.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StaleTemporaryObjects_AreRemovedOnTheFirstWrite_RecentOnesKept()
    {
        var prefix = $"t-{Guid.NewGuid():N}/";
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var fresh = S3Store.Open(Server.StoreOptions(prefix), time);
        _stores.Add(fresh);
        // Leave a temporary object the way a crashed writer does: completed but never copied into place.
        await fresh.Client.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest
        {
            BucketName = S3Server.Bucket,
            Key = prefix + ".tmp/crashed",
            ContentBody = "partial",
            UseChunkEncoding = false,
        });

        await fresh.RemoveStaleAsync(default);
        Assert.True(File.Exists(Server.ObjectFile(prefix + ".tmp/crashed")), "a recent temporary object may belong to a running writer");

        time.Advance(TimeSpan.FromDays(2));
        await fresh.RemoveStaleAsync(default);

        Assert.False(File.Exists(Server.ObjectFile(prefix + ".tmp/crashed")));
    }

    [Fact]
    public async Task ServerStoppedMidUpload_RetriesThenFailsClearly_AndNothingBecomesVisible()
    {
        await using var server = await S3Server.StartAsync();
        var store = S3Store.Open(server.StoreOptions("p/") with { RetryWindow = TimeSpan.FromSeconds(3) });
        _stores.Add(store);
        var chunk = RandomBytes(64 << 10);
        var started = System.Diagnostics.Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<StoreException>(async () =>
        {
            await using var write = await store.BeginWriteAsync(default);
            for (var i = 0; i < 200; i++)
            {
                if (i == 20)
                {
                    await server.StopAsync(); // after several parts went up
                }

                await write.Content.WriteAsync(chunk);
            }

            await write.CommitAsync("etcd/full.db", false, default);
        });

        Assert.Equal(StoreErrorKind.Unavailable, ex.Kind);
        Assert.True(ex.IsTransient);
        Assert.Contains("cannot reach http://127.0.0.1:", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(60), $"gave up after {started.Elapsed}");

        await server.RestartAsync();
        Assert.Empty(await store.ListAsync("", default).ToListAsync());
    }

    [Fact]
    public async Task ServerRestartingMidUpload_IsRiddenOutByRetries()
    {
        await using var server = await S3Server.StartAsync();
        var store = S3Store.Open(server.StoreOptions("p/") with { RetryWindow = TimeSpan.FromSeconds(30) });
        _stores.Add(store);
        var data = RandomBytes(4 << 20);
        Task? restart = null;

        await using (var write = await store.BeginWriteAsync(default))
        {
            for (var i = 0; i < data.Length; i += 64 << 10)
            {
                if (i == 1 << 20)
                {
                    await server.StopAsync();
                    restart = Task.Run(async () =>
                    {
                        await Task.Delay(1500);
                        await server.RestartAsync();
                    });
                }

                await write.Content.WriteAsync(data.AsMemory(i, 64 << 10));
            }

            await write.CommitAsync("etcd/full.db", false, default);
        }

        await restart!;
        Assert.Equal(data, await GetAsync(store, "etcd/full.db"));
    }
}
