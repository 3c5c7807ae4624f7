using System.Buffers.Binary;
using Azure;
using Azure.Storage.Blobs.Models;

namespace Lifeboat.Storage.Azure;

/// <summary>One object being written to an <see cref="AzureBlobStore"/>: see the store's remarks for the protocol.</summary>
internal sealed class AzureBlobWrite(AzureBlobStore store) : PartedUpload<string>(store, store.Options.BlockSize, store.Options.Parallelism)
{
    private readonly AzureBlobStore _store = store;
    private string? _tempName;
    private bool _tempCommitted;

    protected override Task BeginPartsAsync(CancellationToken cancellationToken)
    {
        _tempName = _store.NewTempName();
        return Task.CompletedTask;
    }

    protected override async Task<string> UploadPartAsync(byte[] buffer, int length, int number, CancellationToken cancellationToken)
    {
        // Block ids must all have the same length: the block's number, 8 bytes, base64.
        var id = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(id, number);
        var blockId = Convert.ToBase64String(id);
        await _store.GuardAsync($"upload block {number}", () => _store.Blob(_tempName!).StageBlockAsync(blockId,
            new MemoryStream(buffer, 0, length, writable: false), cancellationToken: cancellationToken), cancellationToken);
        return blockId;
    }

    /// <summary>One block or less: straight to its key, refused by the service itself if the key exists.</summary>
    protected override Task CommitWholeAsync(string key, byte[] buffer, int length, string sha256, bool overwrite, CancellationToken cancellationToken) =>
        _store.GuardAsync($"write {key}", () => _store.Blob(_store.Options.Prefix + key).UploadAsync(new MemoryStream(buffer, 0, length, writable: false),
            new BlobUploadOptions { Metadata = Metadata(sha256), Conditions = Conditions(overwrite) }, cancellationToken), cancellationToken, key);

    protected override async Task CommitPartsAsync(string key, IReadOnlyList<string> parts, string sha256, bool overwrite, CancellationToken cancellationToken)
    {
        var temp = _store.Blob(_tempName!);
        await _store.GuardAsync("commit the upload", () => temp.CommitBlockListAsync(parts, new CommitBlockListOptions { Metadata = Metadata(sha256) },
            cancellationToken), cancellationToken);
        _tempCommitted = true;
        var copy = await _store.GuardAsync($"write {key}", () => _store.Blob(_store.Options.Prefix + key).StartCopyFromUriAsync(_store.CopySource(temp),
            new BlobCopyFromUriOptions { Metadata = Metadata(sha256), DestinationConditions = Conditions(overwrite) }, cancellationToken),
            cancellationToken, key);
        await _store.GuardAsync($"write {key}", async () => await copy.WaitForCompletionAsync(cancellationToken), cancellationToken, key);
        await DeleteTempQuietlyAsync(); // the object is in place: a leftover only costs space until the stale clean-up
    }

    /// <summary>Staged blocks that were never committed are invisible, and the service discards them after a week.</summary>
    protected override Task AbandonAsync() => _tempCommitted ? DeleteTempQuietlyAsync() : Task.CompletedTask;

    private static Dictionary<string, string> Metadata(string sha256) => new() { [AzureBlobStore.HashMetadata] = sha256 };

    private static BlobRequestConditions? Conditions(bool overwrite) => overwrite ? null : new BlobRequestConditions { IfNoneMatch = ETag.All };

    private Task DeleteTempQuietlyAsync() =>
        _store.BestEffortAsync($"delete the temporary blob {_tempName}", timeout => _store.Container.DeleteBlobIfExistsAsync(_tempName,
            cancellationToken: timeout));
}
