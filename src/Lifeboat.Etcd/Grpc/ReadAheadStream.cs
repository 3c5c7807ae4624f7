using System.Buffers;

namespace Lifeboat.Etcd.Grpc;

/// <summary>
/// A connection stream that reads ahead: each socket read takes whatever the kernel has buffered (up to
/// <see cref="BufferSize"/>), and smaller reads are then served from memory. Writes pass straight through.
/// </summary>
/// <remarks>
/// .NET's HTTP/2 connection reads one frame at a time (about 16 KB); over a socket that is one system call and one
/// thread hand-off per frame. For a multi-gigabyte snapshot that per-frame cost, on a 2-core machine shared with
/// etcd, was larger than the cost of the data itself. Reads never wait for more data than is already available, so
/// latency is unchanged. Thread-safety is that of the HTTP/2 connection's use: one reader and one writer at a time.
/// </remarks>
internal sealed class ReadAheadStream(Stream inner) : Stream
{
    public const int BufferSize = 256 * 1024;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _start;
    private int _end;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (_start == _end)
        {
            if (destination.Length >= BufferSize)
            {
                return await inner.ReadAsync(destination, cancellationToken);
            }

            _start = 0;
            _end = await inner.ReadAsync(_buffer.AsMemory(), cancellationToken);
            if (_end == 0)
            {
                return 0;
            }
        }

        var n = Math.Min(destination.Length, _end - _start);
        _buffer.AsSpan(_start, n).CopyTo(destination.Span);
        _start += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> destination)
    {
        if (_start == _end)
        {
            _start = 0;
            _end = inner.Read(_buffer);
            if (_end == 0)
            {
                return 0;
            }
        }

        var n = Math.Min(destination.Length, _end - _start);
        _buffer.AsSpan(_start, n).CopyTo(destination);
        _start += n;
        return n;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(source, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            var buffer = Interlocked.Exchange(ref _buffer, []);
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        base.Dispose(disposing);
    }
}
