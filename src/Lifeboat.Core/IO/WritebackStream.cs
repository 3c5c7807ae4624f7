namespace Lifeboat.Core.IO;

/// <summary>
/// A file being written front to back (seeks allowed, as a bulk loader makes them) whose pages are handed to the disk
/// while it is written (<see cref="FileSync.StartWriteback"/> behind the furthest byte written), instead of all at the
/// fsync that ends it: writing and the disk then overlap, and the fsync waits for little.
/// </summary>
public sealed class WritebackStream(FileStream inner) : Stream
{
    private const long Chunk = 8 << 20;
    private long _furthest;
    private long _started;

    public override bool CanRead => false;
    public override bool CanSeek => true;
    public override bool CanWrite => true;
    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        _furthest = Math.Max(_furthest, inner.Position);
        if (_furthest - _started >= Chunk)
        {
            inner.Flush(); // into the page cache, so that the range is there to write back
            FileSync.StartWriteback(inner.SafeFileHandle, _started, _furthest - _started);
            _started = _furthest;
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void SetLength(long value) => inner.SetLength(value);
}
