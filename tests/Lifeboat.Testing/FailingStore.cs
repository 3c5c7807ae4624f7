using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;

namespace Lifeboat.Testing;

/// <summary>
/// A store that fails on purpose: around a real store, it fails writes after <see cref="FailAfterBytes"/> bytes (as a
/// full disk would), or fails every commit, or every operation. Used to prove that callers surface store failures and
/// leave nothing behind.
/// </summary>
public sealed class FailingStore(ISnapshotStore inner) : ISnapshotStore
{
    public long FailAfterBytes { get; init; } = long.MaxValue;

    public bool FailCommit { get; init; }

    public bool FailEverything { get; set; }

    public string Location => "failing+" + inner.Location;

    public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken) =>
        FailEverything ? throw Failure("list") : inner.ListAsync(prefix, cancellationToken);

    public async Task<IStoreWrite> BeginWriteAsync(CancellationToken cancellationToken)
    {
        if (FailEverything)
        {
            throw Failure("begin a write");
        }

        return new Write(this, await inner.BeginWriteAsync(cancellationToken));
    }

    public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken) =>
        FailEverything ? throw Failure("read") : inner.OpenReadAsync(key, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        FailEverything ? throw Failure("delete") : inner.DeleteAsync(key, cancellationToken);

    private static StoreException Failure(string what) =>
        new(StoreErrorKind.Unavailable, $"injected failure: cannot {what}", "this store fails on purpose");

    private sealed class Write(FailingStore owner, IStoreWrite inner) : IStoreWrite
    {
        private readonly LimitedStream _content = new(inner.Content, owner.FailAfterBytes);

        public Stream Content => _content;

        public Task<StoredObject> CommitAsync(string key, bool overwrite, CancellationToken cancellationToken) =>
            owner.FailCommit ? throw Failure("commit") : inner.CommitAsync(key, overwrite, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private sealed class LimitedStream(Stream inner, long limit) : Stream
    {
        private long _written;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Check(buffer.Length);
            inner.Write(buffer);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Check(buffer.Length);
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private void Check(int count)
        {
            _written += count;
            if (_written > limit)
            {
                throw new StoreException(StoreErrorKind.Full, "injected failure: no space left on device", "free space");
            }
        }

        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
