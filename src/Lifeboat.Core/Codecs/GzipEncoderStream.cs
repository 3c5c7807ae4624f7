using System.IO.Compression;
using Lifeboat.Core.IO;

namespace Lifeboat.Core.Codecs;

/// <summary>
/// .NET's gzip writer (zlib-ng, fastest level), compressing on the writer's thread into a small buffer that goes to the
/// destination in 128 KiB writes: .NET's own async path wrote every 8 KiB of output as its own async write, which cost
/// more allocation than the data. One repair too: when nothing was written, .NET writes no member at all, which no
/// gzip reader accepts; this writes the canonical empty member instead. Never closes the destination.
/// </summary>
internal sealed class GzipEncoderStream : WriteOnlyStream
{
    private const int WriteSize = 128 * 1024;

    // Header (magic, deflate, no flags, no time, no extra flags, OS unknown), an empty final fixed-Huffman block, CRC-32 0, length 0.
    private static ReadOnlySpan<byte> EmptyMember => [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private readonly Stream _destination;
    private readonly MemoryStream _pending = new(WriteSize * 2);
    private readonly GZipStream _gzip;
    private bool _written;
    private bool _disposed;

    public GzipEncoderStream(Stream destination)
    {
        _destination = destination;
        _gzip = new GZipStream(_pending, CompressionLevel.Fastest, leaveOpen: true);
    }

    public override bool CanWrite => !_disposed;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _written |= !buffer.IsEmpty;
        _gzip.Write(buffer);
        if (_pending.Length >= WriteSize)
        {
            _destination.Write(TakePending().Span);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _written |= !buffer.IsEmpty;
        _gzip.Write(buffer.Span);
        if (_pending.Length >= WriteSize)
        {
            await _destination.WriteAsync(TakePending(), cancellationToken).ConfigureAwait(false);
        }
    }

    public override void Flush()
    {
        _gzip.Flush();
        _destination.Write(TakePending().Span);
        _destination.Flush();
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        _gzip.Flush();
        await _destination.WriteAsync(TakePending(), cancellationToken).ConfigureAwait(false);
        await _destination.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _gzip.Dispose();
            _destination.Write(_written ? TakePending().Span : EmptyMember);
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            await _gzip.DisposeAsync().ConfigureAwait(false);
            await _destination.WriteAsync(_written ? TakePending() : EmptyMember.ToArray()).ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>The compressed bytes buffered so far, valid until the next write; the buffer is then reused.</summary>
    private ReadOnlyMemory<byte> TakePending()
    {
        var pending = _pending.GetBuffer().AsMemory(0, (int)_pending.Length);
        _pending.SetLength(0);
        return pending;
    }
}
