using Azure.Storage;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;
using Lifeboat.Storage.Azure;
using Lifeboat.Testing;

namespace Lifeboat.Storage.Tests.Azure;

/// <summary>One Azurite for the whole class; every test gets its own prefix, so each store starts empty.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public AzuriteServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await AzuriteServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class AzureBlobStoreTests(AzuriteFixture fixture) : SnapshotStoreContract, IClassFixture<AzuriteFixture>
{
    private AzuriteServer Server => fixture.Server;

    protected override Task<ISnapshotStore> CreateStoreAsync() => Task.FromResult<ISnapshotStore>(Open());

    private AzureBlobStore Open(Func<AzureBlobStoreOptions, AzureBlobStoreOptions>? configure = null, string? prefix = null)
    {
        var options = Server.StoreOptions(prefix ?? $"t-{Guid.NewGuid():N}/");
        return AzureBlobStore.Open(configure is null ? options : configure(options));
    }

    private static byte[] RandomBytes(int length)
    {
        var data = new byte[length];
        Random.Shared.NextBytes(data);
        return data;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    [InlineData(64 << 10)] // exactly one block: uploaded straight to its key
    [InlineData((64 << 10) + 1)] // staged, committed under .tmp/, copied into place
    [InlineData(1_000_003)]
    public async Task Objects_OfEverySize_RoundTrip_AndLeaveNoTemporaryBlob(int size)
    {
        var store = Open();
        var data = RandomBytes(size);

        var stored = await StoreBytes.PutAsync(store, "etcd/a.db", data, chunk: 10_000);

        Assert.Equal(size, stored.Size);
        Assert.Equal(data, await StoreBytes.GetAsync(store, "etcd/a.db"));
        var all = new List<string>();
        await foreach (var blob in store.Container.GetBlobsAsync(global::Azure.Storage.Blobs.Models.BlobTraits.None,
                           global::Azure.Storage.Blobs.Models.BlobStates.None, store.Options.Prefix, default))
        {
            all.Add(blob.Name[store.Options.Prefix.Length..]);
        }

        Assert.Equal(["etcd/a.db"], all);
    }

    [Fact]
    public async Task LargeObject_ExistingKey_IsRefused_AndTheOriginalKept()
    {
        var store = Open();
        var first = RandomBytes(300_000);
        await StoreBytes.PutAsync(store, "etcd/x.db", first);

        var ex = await Assert.ThrowsAsync<StoreException>(() => StoreBytes.PutAsync(store, "etcd/x.db", RandomBytes(300_000)));

        Assert.Equal(StoreErrorKind.AlreadyExists, ex.Kind);
        Assert.Equal(first, await StoreBytes.GetAsync(store, "etcd/x.db"));
    }

    [Fact]
    public async Task AlteredObject_IsAnIntegrityError_WhenReadToItsEnd()
    {
        var store = Open();
        await StoreBytes.PutAsync(store, "etcd/y.db", RandomBytes(200_000));
        var blob = store.Container.GetBlobClient(store.Options.Prefix + "etcd/y.db");
        var properties = await blob.GetPropertiesAsync();
        await blob.SetMetadataAsync(new Dictionary<string, string> { [AzureBlobStore.HashMetadata] = new string('0', 64) });

        await Assert.ThrowsAsync<IntegrityException>(() => StoreBytes.GetAsync(store, "etcd/y.db"));
        Assert.Equal(200_000, properties.Value.ContentLength);
    }

    [Fact]
    public async Task WrongKey_IsAccessDenied_AndMissingContainer_SaysSo()
    {
        var wrong = Open(o => o with { SharedKey = new StorageSharedKeyCredential(AzuriteServer.Account, Convert.ToBase64String(new byte[64])) });
        var denied = await Assert.ThrowsAsync<StoreException>(() => wrong.BeginWriteAsync(default));
        Assert.Equal(StoreErrorKind.AccessDenied, denied.Kind);

        var missing = Open(o => o with { Container = "nope" });
        var absent = await Assert.ThrowsAsync<StoreException>(() => missing.BeginWriteAsync(default));
        Assert.Equal(StoreErrorKind.InvalidLocation, absent.Kind);
        Assert.Contains("container 'nope' does not exist", absent.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectionString_OpensTheSameStore()
    {
        var prefix = $"t-{Guid.NewGuid():N}/";
        await StoreBytes.PutAsync(Open(prefix: prefix), "etcd/c.db", [1, 2, 3]);

        var viaConnectionString = AzureBlobStore.Open(new AzureBlobStoreOptions
        {
            Container = AzuriteServer.Container,
            Prefix = prefix,
            ConnectionString = Server.ConnectionString,
        });

        Assert.Equal([1, 2, 3], await StoreBytes.GetAsync(viaConnectionString, "etcd/c.db"));
    }

    [Fact]
    public async Task ServerDown_IsUnavailable_AndTransient()
    {
        await using var lone = await AzuriteServer.StartAsync();
        var store = AzureBlobStore.Open(lone.StoreOptions("t/") with { MaxRetries = 0, NetworkTimeout = TimeSpan.FromSeconds(5) });
        await lone.StopAsync();

        var ex = await Assert.ThrowsAsync<StoreException>(() => store.BeginWriteAsync(default));

        Assert.Equal(StoreErrorKind.Unavailable, ex.Kind);
        Assert.True(ex.IsTransient);
    }

    private AzureBlobStore OpenWithFiles(string dir, string prefix) => AzureBlobStore.Open(StoreLocation.ParseAzure(
        new StoreSettings
        {
            Location = $"azblob://{AzuriteServer.Container}/{prefix}",
            AzureCredentialsDir = dir,
            AzureEndpoint = Server.ServiceUri,
            AzureBlockSize = AzureBlobStoreOptions.MinimumBlockSize,
        }, _ => null));

    private static async Task WriteSecretFileAsync(string dir, string name, string value, int step)
    {
        // A mounted Secret changes by swapping files; what the store sees is a new modification time.
        var path = Path.Combine(dir, name);
        await File.WriteAllTextAsync(path, value + "\n");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(step));
    }

    [Fact]
    public async Task CredentialFiles_ARotatedSecret_IsReadAgain_WithoutReopening()
    {
        using var dir = new TempDirectory();
        Dictionary<string, string> Secret(string key) => new() { [AzureCredentialFiles.AccountFile] = AzuriteServer.Account, [AzureCredentialFiles.KeyFile] = key };
        // Laid out and rotated as the kubelet does it: the visible files are links that never change themselves.
        var secret = MountedSecret.Create(dir.Combine("secret"), Secret(AzuriteServer.AccountKey));
        var store = OpenWithFiles(secret.Directory, $"t-{Guid.NewGuid():N}");
        var data = RandomBytes(200_000); // staged blocks and the copy into place, all signed with the key

        await StoreBytes.PutAsync(store, "etcd/1.db", data);

        secret.Update(Secret(Convert.ToBase64String(new byte[64])));
        var denied = await Assert.ThrowsAsync<StoreException>(() => StoreBytes.PutAsync(store, "etcd/2.db", data));
        Assert.Equal(StoreErrorKind.AccessDenied, denied.Kind);

        secret.Update(Secret(AzuriteServer.AccountKey));
        await StoreBytes.PutAsync(store, "etcd/2.db", data);
        Assert.Equal(data, await StoreBytes.GetAsync(store, "etcd/2.db"));
    }

    [Fact]
    public async Task CredentialFiles_Missing_Empty_OrWithoutAKey_AreClearErrors()
    {
        using var dir = new TempDirectory();
        var missing = Assert.Throws<StoreException>(() => OpenWithFiles(dir.Combine("absent"), "x"));
        Assert.Contains("storageAccount", missing.Message, StringComparison.Ordinal);

        await WriteSecretFileAsync(dir.Path, AzureCredentialFiles.AccountFile, AzuriteServer.Account, 0);
        var noKey = Assert.Throws<ArgumentException>(() => OpenWithFiles(dir.Path, "x"));
        Assert.Contains("neither storageKey nor sasToken", noKey.Message, StringComparison.Ordinal);

        await WriteSecretFileAsync(dir.Path, AzureCredentialFiles.KeyFile, "not base64!", 0);
        var badKey = Assert.Throws<StoreException>(() => OpenWithFiles(dir.Path, "x"));
        Assert.Contains("does not hold a storage account key", badKey.Message, StringComparison.Ordinal);
    }

    /// <summary>A container SAS as the portal or <c>az storage container generate-sas</c> makes one, signed with the account key.</summary>
    private string ContainerSas(global::Azure.Storage.Sas.BlobContainerSasPermissions permissions)
    {
        var container = new global::Azure.Storage.Blobs.BlobContainerClient(new Uri($"{Server.ServiceUri}/{AzuriteServer.Container}"),
            new StorageSharedKeyCredential(AzuriteServer.Account, AzuriteServer.AccountKey));
        return container.GenerateSasUri(permissions, DateTimeOffset.UtcNow.AddHours(1)).Query.TrimStart('?');
    }

    [Fact]
    public async Task SasToken_WritesEveryPath_ReadsAndLists_AndAReadOnlySasCannotWrite()
    {
        var prefix = $"t-{Guid.NewGuid():N}/";
        var sas = ContainerSas(global::Azure.Storage.Sas.BlobContainerSasPermissions.All);
        var store = Open(o => o with { SharedKey = null, SasToken = sas }, prefix);
        var large = RandomBytes(300_000); // staged, committed, copied into place: the copy's source carries the SAS
        var small = RandomBytes(1_000);

        await StoreBytes.PutAsync(store, "etcd/large.db", large);
        await StoreBytes.PutAsync(store, "etcd/small.db", small);

        Assert.Equal(large, await StoreBytes.GetAsync(store, "etcd/large.db"));
        Assert.Equal(["etcd/large.db", "etcd/small.db"], await store.ListAsync("", default).Select(o => o.Key).Order(StringComparer.Ordinal).ToListAsync());

        using var dir = new TempDirectory();
        await WriteSecretFileAsync(dir.Path, AzureCredentialFiles.AccountFile, AzuriteServer.Account, 0);
        await WriteSecretFileAsync(dir.Path, AzureCredentialFiles.SasFile, "?" + ContainerSas(global::Azure.Storage.Sas.BlobContainerSasPermissions.Read
            | global::Azure.Storage.Sas.BlobContainerSasPermissions.List), 0);
        var readOnly = OpenWithFiles(dir.Path, prefix.TrimEnd('/'));
        Assert.Equal(small, await StoreBytes.GetAsync(readOnly, "etcd/small.db"));
        var denied = await Assert.ThrowsAsync<StoreException>(() => StoreBytes.PutAsync(readOnly, "etcd/other.db", small));
        Assert.Equal(StoreErrorKind.AccessDenied, denied.Kind);
    }
}
