using System.IO.Pipelines;
using System.Security.Cryptography;
using Google.Apis.Storage.v1.Data;
using Google.Cloud.Storage.V1;
using Lifeboat.Core.Errors;
using Lifeboat.Core.IO;
using Lifeboat.Core.Storage;

namespace Lifeboat.Storage.Gcs;

/// <summary>
/// One object being written to a <see cref="GcsStore"/>: see the store's remarks for the protocol. The first chunk is
/// held; if the object outgrows it, a resumable upload starts and the library reads the rest from a pipe as it is
/// written, so memory stays at about two chunks whatever the size.
/// </summary>
internal sealed class GcsWrite : WriteOnlyStream, IStoreWrite
{
    private readonly GcsStore _store;
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly CancellationTokenSource _abort = new();
    private readonly byte[] _head;
    private int _headLength;
    private long _length;
    private Pipe? _pipe;
    private Task<Google.Apis.Storage.v1.Data.Object>? _upload;
    private string? _tempName;
    private bool _tempComplete;
    private bool _done;

    public GcsWrite(GcsStore store)
    {
        _store = store;
        _head = new byte[store.Options.ChunkSize];
    }

    public Stream Content => this;

    public override bool CanWrite => !_done;

    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_done, this);
        _sha.AppendData(buffer.Span);
        _length += buffer.Length;
        if (_pipe is null)
        {
            var n = Math.Min(buffer.Length, _head.Length - _headLength);
            buffer.Span[..n].CopyTo(_head.AsSpan(_headLength));
            _headLength += n;
            buffer = buffer[n..];
            if (buffer.IsEmpty)
            {
                return; // an object of exactly one chunk still goes straight to its key
            }

            StartUpload();
            await PushAsync(_head.AsMemory(0, _headLength), cancellationToken);
        }

        await PushAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var copy = buffer.ToArray();
#pragma warning disable VSTHRD002 // a synchronous Stream API has no other way; the upload runs on the thread pool
        WriteAsync(copy, CancellationToken.None).AsTask().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void StartUpload()
    {
        _tempName = _store.NewTempName();
        // A small pipe: the library holds a chunk of its own, and the writer waits while it sends one.
        _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 512 << 10, useSynchronizationContext: false));
        _upload = Task.Run(UploadTempAsync, CancellationToken.None);
    }

    private async Task<Google.Apis.Storage.v1.Data.Object> UploadTempAsync()
    {
        var source = _pipe!.Reader.AsStream();
        try
        {
            return await _store.GuardAsync("upload", () => _store.Client.UploadObjectAsync(
                new Google.Apis.Storage.v1.Data.Object { Bucket = _store.Options.Bucket, Name = _tempName },
                source, new UploadObjectOptions { ChunkSize = _store.Options.ChunkSize, IfGenerationMatch = 0 }, _abort.Token), _abort.Token);
        }
        finally
        {
            await source.DisposeAsync(); // completes the reader: a writer waiting on a failed upload is released
        }
    }

    private async Task PushAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var result = await _pipe!.Writer.WriteAsync(data, cancellationToken);
        if (result.IsCompleted)
        {
            await _upload!; // the upload ended before the data did: its failure is the answer
            throw new StoreException(StoreErrorKind.Unavailable, $"uploading to {_store.Location} stopped early", "try again");
        }
    }

    public async Task<StoredObject> CommitAsync(string key, bool overwrite, CancellationToken cancellationToken)
    {
        StoreKey.Validate(key);
        ObjectDisposedException.ThrowIf(_done, this);
        cancellationToken.ThrowIfCancellationRequested();
        var hash = Convert.ToHexStringLower(_sha.GetHashAndReset());
        var fullName = _store.Options.Prefix + key;
        var metadata = new Dictionary<string, string> { [GcsStore.HashMetadata] = hash };
        try
        {
            if (_pipe is null)
            {
                await _store.GuardAsync($"write {key}", () => _store.Client.UploadObjectAsync(
                    new Google.Apis.Storage.v1.Data.Object { Bucket = _store.Options.Bucket, Name = fullName, Metadata = metadata },
                    new MemoryStream(_head, 0, _headLength, writable: false),
                    new UploadObjectOptions { ChunkSize = _store.Options.ChunkSize, IfGenerationMatch = overwrite ? null : 0 }, cancellationToken),
                    cancellationToken, key);
            }
            else
            {
                await _pipe.Writer.CompleteAsync();
                var temp = await _upload!;
                _tempComplete = true;
                if ((long?)temp.Size != _length)
                {
                    throw new StoreException(StoreErrorKind.Unavailable, $"the upload to {_store.Location} holds {temp.Size} bytes of {_length}", "try again");
                }

                var compose = _store.Client.Service.Objects.Compose(new ComposeRequest
                {
                    SourceObjects = [new ComposeRequest.SourceObjectsData { Name = temp.Name, Generation = temp.Generation }],
                    Destination = new Google.Apis.Storage.v1.Data.Object { ContentType = "application/octet-stream", Metadata = metadata },
                }, _store.Options.Bucket, fullName);
                if (!overwrite)
                {
                    compose.IfGenerationMatch = 0;
                }

                await _store.GuardAsync($"write {key}", () => compose.ExecuteAsync(cancellationToken), cancellationToken, key);
                await DeleteTempQuietlyAsync(); // the object is in place: a leftover only costs space until the stale clean-up
                _tempComplete = false;
            }
        }
        catch (StoreException ex) when (ex.Kind == StoreErrorKind.AlreadyExists)
        {
            // A retried request whose first attempt had already succeeded finds the object in place: then it is this one.
            if (!await IsOursAsync(fullName, hash, cancellationToken))
            {
                throw;
            }

            if (_tempComplete)
            {
                await DeleteTempQuietlyAsync();
                _tempComplete = false;
            }
        }

        _done = true;
        return new StoredObject(key, _length, _store.Now);
    }

    /// <summary>Whether the object at <paramref name="fullName"/> is the one this write made (its size and hash).</summary>
    private async Task<bool> IsOursAsync(string fullName, string hash, CancellationToken cancellationToken)
    {
        try
        {
            var existing = await _store.Client.GetObjectAsync(_store.Options.Bucket, fullName, cancellationToken: cancellationToken);
            return (long?)existing.Size == _length && existing.Metadata is { } m && m.TryGetValue(GcsStore.HashMetadata, out var sha) && sha == hash;
        }
        catch (Exception ex) when (_store.Translate(ex, "check an existing object", null) is not null)
        {
            return false;
        }
    }

    private Task DeleteTempQuietlyAsync() =>
        _store.BestEffortAsync($"delete the temporary object {_tempName}", timeout => _store.Client.DeleteObjectAsync(_store.Options.Bucket, _tempName,
            cancellationToken: timeout));

    public override async ValueTask DisposeAsync()
    {
        if (!_done)
        {
            _done = true;
            await _abort.CancelAsync();
            if (_pipe is not null)
            {
                await _pipe.Writer.CompleteAsync(new OperationCanceledException("the write was abandoned"));
                try
                {
                    await _upload!;
                }
                catch (Exception)
                {
                    // the write is being abandoned; its failure was reported to the writer already. An unfinished
                    // resumable upload is invisible, and the service forgets it after a week.
                }
            }

            if (_tempComplete)
            {
                await DeleteTempQuietlyAsync();
            }
        }

        _sha.Dispose();
        _abort.Dispose();
        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_done)
        {
#pragma warning disable VSTHRD002 // Dispose without DisposeAsync: abandon synchronously rather than leak the upload
            DisposeAsync().AsTask().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
            return;
        }

        if (disposing)
        {
            _sha.Dispose();
            _abort.Dispose();
        }

        base.Dispose(disposing);
    }
}
