using System.IO.Compression;

namespace Lifeboat.Core.Codecs;

/// <summary>
/// .NET's gzip writer (zlib-ng, fastest level) with one repair: when nothing was written, .NET writes no member at all,
/// which no gzip reader accepts; this writes the canonical empty member instead. Never closes the destination.
/// </summary>
internal sealed class GzipEncoderStream(Stream destination) : Stream
{
    // Header (magic, deflate, no flags, no time, no extra flags, OS unknown), an empty final fixed-Huffman block, CRC-32 0, length 0.
    private static ReadOnlySpan<byte> EmptyMember => [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private readonly GZipStream _gzip = new(destination, CompressionLevel.Fastest, leaveOpen: true);
    private bool _written;
    private bool _disposed;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_disposed;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _written |= !buffer.IsEmpty;
        _gzip.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _written |= !buffer.IsEmpty;
        return _gzip.WriteAsync(buffer, cancellationToken);
    }

    public override void Flush() => _gzip.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _gzip.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _gzip.Dispose();
            if (!_written)
            {
                destination.Write(EmptyMember);
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            await _gzip.DisposeAsync().ConfigureAwait(false);
            if (!_written)
            {
                await destination.WriteAsync(EmptyMember.ToArray()).ConfigureAwait(false);
            }
        }

        await base.DisposeAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }
}
