using Lifeboat.Core.Errors;
using Lifeboat.Core.IO;

namespace Lifeboat.Storage.Local;

/// <summary>
/// A write-only wrapper that turns file-system failures while writing (disk full, I/O error) into
/// <see cref="StoreException"/>s, so that a snapshot that dies half-way says why in store terms.
/// </summary>
/// <remarks>
/// Asynchronous writes are performed inline, unbuffered: a write here is a copy into the page cache (durability comes
/// from the fsync at commit), and copying each chunk on the thread that just hashed it, while it is still in the CPU
/// cache, was measured at a third of the system time of staging it through a 1 MB buffer or a thread-pool write
/// (1 GB snapshot: 0.8 s against 2.7 s), which on a 2-core machine decides whether the snapshot keeps up with etcd.
/// </remarks>
internal sealed class GuardedWriteStream(FileStream inner, string root) : WriteOnlyStream
{
    /// <summary>Writes go through this, which starts writeback behind the writer so that the fsync at commit waits for little.</summary>
    private readonly WritebackStream _writeback = new(inner);

    public FileStream Inner => inner;

    public override bool CanWrite => true;
    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        try
        {
            _writeback.Write(buffer);
        }
        catch (IOException ex) when (LocalDirectoryStore.Translate(ex, root, "write to the store") is { } translated)
        {
            throw translated;
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override void Flush()
    {
        try
        {
            inner.Flush();
        }
        catch (IOException ex) when (LocalDirectoryStore.Translate(ex, root, "write to the store") is { } translated)
        {
            throw translated;
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Flush();
        return Task.CompletedTask;
    }

}
