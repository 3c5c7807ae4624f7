using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;
using Lifeboat.Storage.Local;
using Lifeboat.Testing;

namespace Lifeboat.Storage.Tests.Local;

public sealed class LocalDirectoryStoreTests : SnapshotStoreContract, IDisposable
{
    private readonly TempDirectory _dir = new();

    protected override Task<ISnapshotStore> CreateStoreAsync() =>
        Task.FromResult<ISnapshotStore>(LocalDirectoryStore.Open(_dir.Combine($"store-{Guid.NewGuid():N}")));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Write_InProgress_LivesOnlyInTheTempDirectory()
    {
        var root = _dir.Combine("s");
        var store = LocalDirectoryStore.Open(root);
        await using var write = await store.BeginWriteAsync(default);
        await write.Content.WriteAsync(new byte[100]);

        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToList();
        Assert.All(files, f => Assert.StartsWith(Path.Combine(root, ".tmp") + Path.DirectorySeparatorChar, f, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Open_RemovesStaleTempFilesButKeepsRecentOnes()
    {
        var root = _dir.Combine("s");
        Directory.CreateDirectory(Path.Combine(root, ".tmp"));
        var stale = Path.Combine(root, ".tmp", "old.part");
        var recent = Path.Combine(root, ".tmp", "new.part");
        await File.WriteAllTextAsync(stale, "x");
        await File.WriteAllTextAsync(recent, "x");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddDays(-2));

        LocalDirectoryStore.Open(root);

        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(recent));
    }

    [Fact]
    public void Open_UnwritableLocation_ThrowsAccessDeniedOrUnavailableWithHint()
    {
        var ex = Assert.Throws<StoreException>(() => LocalDirectoryStore.Open("/proc/lifeboat-cannot-exist"));
        Assert.NotNull(ex.Hint);
        Assert.Contains("/proc/lifeboat-cannot-exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BeginWrite_TempDirectoryReplacedByAFile_ThrowsStoreErrorWithHint()
    {
        // Permission bits do not stop root (CI runs as root), so break the directory itself.
        var root = _dir.Combine("broken");
        var store = LocalDirectoryStore.Open(root);
        Directory.Delete(Path.Combine(root, ".tmp"));
        await File.WriteAllTextAsync(Path.Combine(root, ".tmp"), "not a directory");

        var ex = await Assert.ThrowsAsync<StoreException>(() => store.BeginWriteAsync(default));

        Assert.Contains(root, ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.Hint);
    }

    [Theory]
    [InlineData("file:///tmp/x", "/tmp/x")]
    [InlineData("/tmp/y", "/tmp/y")]
    public void StoreLocation_LocalForms_OpenADirectoryStore(string location, string path)
    {
        var store = StoreLocation.Open(location);
        Assert.Equal("file://" + path, store.Location);
    }

    [Theory]
    [InlineData("s3://Bad_Bucket/prefix", "s3://bucket")]
    [InlineData("s3://ab", "s3://bucket")]
    [InlineData("s3://bucket/has space", "letters")]
    [InlineData("swift://bucket", "gs://bucket/prefix")]
    [InlineData("gs://Bad_Bucket/x", "gs://bucket")]
    [InlineData("azblob://ab", "azblob://container")]
    [InlineData("file://otherhost/x", "file:///")]
    public void StoreLocation_Unsupported_ThrowsInvalidLocationWithHint(string location, string hint)
    {
        var ex = Assert.Throws<StoreException>(() => StoreLocation.Open(location));
        Assert.Equal(StoreErrorKind.InvalidLocation, ex.Kind);
        Assert.Contains(hint, ex.Hint, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("s3://backups", "backups", "")]
    [InlineData("s3://backups/", "backups", "")]
    [InlineData("s3://backups/shoot/etcd-main", "backups", "shoot/etcd-main/")]
    [InlineData("s3://my.bucket-1/a/b/", "my.bucket-1", "a/b/")]
    public void StoreLocation_S3_ParsesBucketAndPrefix(string location, string bucket, string prefix)
    {
        var options = StoreLocation.ParseS3(new StoreSettings { Location = location });
        Assert.Equal(bucket, options.Bucket);
        Assert.Equal(prefix, options.Prefix);
    }
}
