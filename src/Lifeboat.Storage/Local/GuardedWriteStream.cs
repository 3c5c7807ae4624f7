using Lifeboat.Core.Errors;

namespace Lifeboat.Storage.Local;

/// <summary>
/// A write-only wrapper that turns file-system failures while writing (disk full, I/O error) into
/// <see cref="StoreException"/>s, so that a snapshot that dies half-way says why in store terms.
/// </summary>
internal sealed class GuardedWriteStream(FileStream inner, string root) : Stream
{
    public FileStream Inner => inner;

    public override bool CanRead => false;
    public override bool CanSeek => false;
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
            inner.Write(buffer);
        }
        catch (IOException ex) when (LocalDirectoryStore.Translate(ex, root, "write to the store") is { } translated)
        {
            throw translated;
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            await inner.WriteAsync(buffer, cancellationToken);
        }
        catch (IOException ex) when (LocalDirectoryStore.Translate(ex, root, "write to the store") is { } translated)
        {
            throw translated;
        }
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

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await inner.FlushAsync(cancellationToken);
        }
        catch (IOException ex) when (LocalDirectoryStore.Translate(ex, root, "write to the store") is { } translated)
        {
            throw translated;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
