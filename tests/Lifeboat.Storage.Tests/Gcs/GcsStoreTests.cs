using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;
using Lifeboat.Storage.Gcs;
using Lifeboat.Testing;

namespace Lifeboat.Storage.Tests.Gcs;

/// <summary>One test GCS server for the whole class, with one trusted service account key; every test gets its own prefix.</summary>
public sealed class FakeGcsFixture : IAsyncLifetime
{
    public const string Bucket = "lifeboat-backups";

    public FakeGcsServer Server { get; private set; } = null!;

    public TempDirectory Dir { get; } = new();

    public string KeyFile => Dir.Combine("serviceaccount.json");

    public async Task InitializeAsync()
    {
        Server = await FakeGcsServer.StartAsync(Bucket);
        await File.WriteAllTextAsync(KeyFile, Server.CreateServiceAccountKey());
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Dir.Dispose();
    }
}

/// <summary>
/// The GCS store through Google.Cloud.Storage.V1 against the test server of the JSON API (<see cref="FakeGcsServer"/>):
/// the store contract, both write paths, preconditions, resumable uploads that meet errors, reads that break off,
/// service account keys and their rotation.
/// </summary>
public sealed class GcsStoreTests(FakeGcsFixture fixture) : SnapshotStoreContract, IClassFixture<FakeGcsFixture>
{
    private const int Chunk = GcsStoreOptions.ChunkUnit; // small chunks, so that small objects exercise resumable uploads

    private FakeGcsServer Server => fixture.Server;

    protected override Task<ISnapshotStore> CreateStoreAsync() => Task.FromResult<ISnapshotStore>(Open());

    private GcsStore Open(string? prefix = null, string? keyFile = null, string bucket = FakeGcsFixture.Bucket) => GcsStore.Open(new GcsStoreOptions
    {
        Bucket = bucket,
        Prefix = prefix ?? $"t-{Guid.NewGuid():N}/",
        Endpoint = Server.Endpoint,
        CredentialsFile = keyFile ?? fixture.KeyFile,
        ChunkSize = Chunk,
        RequestTimeout = TimeSpan.FromSeconds(20),
    });

    private static byte[] RandomBytes(int length)
    {
        var data = new byte[length];
        Random.Shared.NextBytes(data);
        return data;
    }

    private List<string> Requests(string containing) => [.. Server.Requests.Where(r => r.Contains(containing, StringComparison.Ordinal))];

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    [InlineData(Chunk)] // exactly one chunk: one upload straight to its key
    [InlineData(Chunk + 1)] // a resumable upload of a temporary object, composed into place
    [InlineData(1_000_003)]
    public async Task Objects_OfEverySize_RoundTrip_AndLeaveNoTemporaryObject(int size)
    {
        var store = Open();
        var data = RandomBytes(size);

        var stored = await StoreBytes.PutAsync(store, "etcd/a.db", data, chunk: 10_000);

        Assert.Equal(size, stored.Size);
        Assert.Equal(data, await StoreBytes.GetAsync(store, "etcd/a.db"));
        Assert.Equal([store.Options.Prefix + "etcd/a.db"], Server.ObjectNames(FakeGcsFixture.Bucket).Where(n => n.StartsWith(store.Options.Prefix, StringComparison.Ordinal)));
        var composes = Requests(Uri.EscapeDataString(store.Options.Prefix + "etcd/a.db") + "/compose");
        Assert.Equal(size > Chunk ? 1 : 0, composes.Count);
        Assert.All(composes, c => Assert.Contains("ifGenerationMatch=0", c, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(600_000)]
    public async Task ExistingKey_IsRefusedByTheService_AndTheOriginalKept(int size)
    {
        var store = Open();
        var first = RandomBytes(size);
        await StoreBytes.PutAsync(store, "etcd/x.db", first);

        var ex = await Assert.ThrowsAsync<StoreException>(() => StoreBytes.PutAsync(store, "etcd/x.db", RandomBytes(size)));

        Assert.Equal(StoreErrorKind.AlreadyExists, ex.Kind);
        Assert.Equal(first, await StoreBytes.GetAsync(store, "etcd/x.db"));
        var replacement = RandomBytes(size);
        await StoreBytes.PutAsync(store, "etcd/x.db", replacement, overwrite: true);
        Assert.Equal(replacement, await StoreBytes.GetAsync(store, "etcd/x.db"));
    }

    [Fact]
    public async Task AlteredObject_IsAnIntegrityError_WhenReadToItsEnd()
    {
        var store = Open();
        await StoreBytes.PutAsync(store, "etcd/y.db", RandomBytes(200_000));
        Server.Corrupt(FakeGcsFixture.Bucket, store.Options.Prefix + "etcd/y.db");

        await Assert.ThrowsAsync<IntegrityException>(() => StoreBytes.GetAsync(store, "etcd/y.db"));
    }

    [Fact]
    public async Task UploadChunks_RefusedWith503_AreSentAgain()
    {
        var store = Open();
        var data = RandomBytes(Chunk * 3 + 5);
        Server.FailNextUploadChunks(2);

        await StoreBytes.PutAsync(store, "etcd/r.db", data);

        Assert.Equal(data, await StoreBytes.GetAsync(store, "etcd/r.db"));
    }

    [Fact]
    public async Task AnUploadChunkWhoseConnectionIsReset_IsSentAgain()
    {
        var store = Open();
        var data = RandomBytes(Chunk * 3 + 5);
        int Puts() => Server.Requests.Count(r => r.StartsWith("PUT /upload/", StringComparison.Ordinal));
        var before = Puts();
        Server.CutNextUploadChunks(1);

        await StoreBytes.PutAsync(store, "etcd/cut.db", data);

        Assert.Equal(data, await StoreBytes.GetAsync(store, "etcd/cut.db"));
        Assert.True(Puts() - before >= 5, $"{Puts() - before} chunk requests: the reset chunk was not sent again"); // 4 chunks, and the one cut
    }

    [Fact]
    public async Task ABrokenRead_ResumesWithARangedRequest_ForTheSameGeneration()
    {
        var store = Open();
        var data = RandomBytes(900_000);
        await StoreBytes.PutAsync(store, "etcd/big.db", data);
        Server.BreakNextDownloadAfter(300_000);

        Assert.Equal(data, await StoreBytes.GetAsync(store, "etcd/big.db"));
        var reads = Requests(Uri.EscapeDataString(store.Options.Prefix + "etcd/big.db") + "?alt=media");
        Assert.Equal(2, reads.Count);
        Assert.All(reads, r => Assert.Contains("&generation=", r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AbandonedLargeWrite_LeavesNothingVisible()
    {
        var store = Open();
        await using (var write = await store.BeginWriteAsync(default))
        {
            await write.Content.WriteAsync(RandomBytes(Chunk * 2));
        }

        Assert.DoesNotContain(Server.ObjectNames(FakeGcsFixture.Bucket), n => n.StartsWith(store.Options.Prefix, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RotatedSecret_IsReadAgain_AndTheOldKeyCanBeDeleted()
    {
        using var dir = new TempDirectory();
        var oldKey = Server.CreateServiceAccountKey();
        // Laid out and rotated as the kubelet does it: serviceaccount.json is a link that never changes itself.
        var secret = MountedSecret.Create(dir.Combine("secret"), new Dictionary<string, string> { ["serviceaccount.json"] = oldKey });
        var store = Open(keyFile: Path.Combine(secret.Directory, "serviceaccount.json"));
        await StoreBytes.PutAsync(store, "etcd/1.db", RandomBytes(1000));

        var newKey = Server.CreateServiceAccountKey();
        secret.Update(new Dictionary<string, string> { ["serviceaccount.json"] = newKey });
        Server.RevokeKey(oldKey);

        await StoreBytes.PutAsync(store, "etcd/2.db", RandomBytes(600_000));
        Assert.Equal(System.Text.Json.Nodes.JsonNode.Parse(newKey)!["private_key_id"]!.GetValue<string>(), Server.LastKeyId);
    }

    [Fact]
    public async Task DeletedKey_IsAccessDenied_AndABrokenKeyFileIsAClearError()
    {
        using var dir = new TempDirectory();
        var keyFile = dir.Combine("serviceaccount.json");
        var key = Server.CreateServiceAccountKey();
        await File.WriteAllTextAsync(keyFile, key);
        Server.RevokeKey(key);

        var denied = await Assert.ThrowsAsync<StoreException>(() => Open(keyFile: keyFile).BeginWriteAsync(default));
        Assert.Equal(StoreErrorKind.AccessDenied, denied.Kind);

        await File.WriteAllTextAsync(keyFile, """{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}""");
        var wrongType = Assert.Throws<StoreException>(() => Open(keyFile: keyFile));
        Assert.Contains("is not a service account's JSON key", wrongType.Message, StringComparison.Ordinal);

        var missing = Assert.Throws<StoreException>(() => Open(keyFile: dir.Combine("absent.json")));
        Assert.Contains("cannot read the GCS credentials file", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingBucket_SaysSo()
    {
        var ex = await Assert.ThrowsAsync<StoreException>(() => Open(bucket: "no-such-bucket").BeginWriteAsync(default));

        Assert.Equal(StoreErrorKind.InvalidLocation, ex.Kind);
        Assert.Contains("bucket 'no-such-bucket' does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerDown_IsUnavailable_AndTransient()
    {
        await using var lone = await FakeGcsServer.StartAsync(FakeGcsFixture.Bucket);
        using var dir = new TempDirectory();
        await File.WriteAllTextAsync(dir.Combine("key.json"), lone.CreateServiceAccountKey());
        var store = GcsStore.Open(new GcsStoreOptions
        {
            Bucket = FakeGcsFixture.Bucket,
            Endpoint = lone.Endpoint,
            CredentialsFile = dir.Combine("key.json"),
            RequestTimeout = TimeSpan.FromSeconds(5),
        });
        await lone.DisposeAsync();

        var ex = await Assert.ThrowsAsync<StoreException>(() => store.BeginWriteAsync(default));

        Assert.Equal(StoreErrorKind.Unavailable, ex.Kind);
        Assert.True(ex.IsTransient);
    }
}
