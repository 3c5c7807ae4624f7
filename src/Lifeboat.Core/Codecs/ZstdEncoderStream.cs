using System.Buffers;
using Lifeboat.Core.IO;

namespace Lifeboat.Core.Codecs;

/// <summary>
/// A write-only stream that zstd-compresses into another stream: one frame with a content checksum, written by
/// <c>libzstd.so.1</c>, optionally on its own worker threads. Disposing ends the frame; the inner stream stays open.
/// Memory is bounded by zstd's window and job sizes (a few MiB at the low levels Lifeboat uses), never by the input.
/// </summary>
internal sealed class ZstdEncoderStream : WriteOnlyStream
{
    private const int OutputSize = 128 * 1024;
    private const int EndFlush = 1;

    private readonly Stream _inner;
    private readonly ZstdNative.CompressionContext _context;
    private byte[]? _output;

    /// <param name="inner">Receives the compressed bytes; not closed.</param>
    /// <param name="level">zstd level, 1 (fastest) to 19.</param>
    /// <param name="workers">Worker threads compressing beside the writer; 0 compresses on the writing thread.</param>
    public ZstdEncoderStream(Stream inner, int level = 1, int workers = 0)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(level, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, 19);
        ArgumentOutOfRangeException.ThrowIfNegative(workers);
        SnapshotCodec.ThrowIfUnavailable(Snapshots.Compression.Zstd);
        _inner = inner;
        _context = ZstdNative.ZSTD_createCCtx();
        if (_context.IsInvalid)
        {
            throw new InvalidOperationException("zstd could not allocate a compression context");
        }

        ZstdNative.Check(ZstdNative.ZSTD_CCtx_setParameter(_context, ZstdNative.CompressionLevel, level), "level");
        ZstdNative.Check(ZstdNative.ZSTD_CCtx_setParameter(_context, ZstdNative.ChecksumFlag, 1), "checksum");
        if (workers > 0)
        {
            // A libzstd built without threads refuses this; it then compresses on the writing thread, which is only slower.
            _ = ZstdNative.ZSTD_CCtx_setParameter(_context, ZstdNative.NbWorkers, workers);
        }

        _output = ArrayPool<byte>.Shared.Rent(OutputSize);
    }

    public override bool CanWrite => _output is not null;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var output = Output();
        while (!buffer.IsEmpty)
        {
            var (consumed, produced, _) = Step(buffer, output, ZstdNative.EndContinue);
            buffer = buffer[consumed..];
            _inner.Write(output, 0, produced);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var output = Output();
        while (!buffer.IsEmpty)
        {
            var (consumed, produced, _) = Step(buffer.Span, output, ZstdNative.EndContinue);
            buffer = buffer[consumed..];
            if (produced > 0)
            {
                await _inner.WriteAsync(output.AsMemory(0, produced), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Ends the current block so that everything written so far can be decompressed (costs a little ratio).</summary>
    public override void Flush()
    {
        Drain(EndFlush);
        _inner.Flush();
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await DrainAsync(EndFlush, cancellationToken).ConfigureAwait(false);
        await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _output is not null)
        {
            try
            {
                Drain(ZstdNative.EndFrame);
            }
            finally
            {
                Release();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_output is not null)
        {
            try
            {
                await DrainAsync(ZstdNative.EndFrame, CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                Release();
            }
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    private void Drain(int op)
    {
        var output = Output();
        nuint remaining;
        do
        {
            (_, var produced, remaining) = Step([], output, op);
            _inner.Write(output, 0, produced);
        }
        while (remaining != 0);
    }

    private async Task DrainAsync(int op, CancellationToken cancellationToken)
    {
        var output = Output();
        nuint remaining;
        do
        {
            (_, var produced, remaining) = Step([], output, op);
            if (produced > 0)
            {
                await _inner.WriteAsync(output.AsMemory(0, produced), cancellationToken).ConfigureAwait(false);
            }
        }
        while (remaining != 0);
    }

    private unsafe (int Consumed, int Produced, nuint Remaining) Step(ReadOnlySpan<byte> input, byte[] output, int op)
    {
        fixed (byte* source = input)
        fixed (byte* destination = output)
        {
            var inBuffer = new ZstdNative.InBuffer { Source = source, Size = (nuint)input.Length };
            var outBuffer = new ZstdNative.OutBuffer { Destination = destination, Size = (nuint)output.Length };
            var remaining = ZstdNative.Check(ZstdNative.ZSTD_compressStream2(_context, &outBuffer, &inBuffer, op), "compression");
            return ((int)inBuffer.Position, (int)outBuffer.Position, remaining);
        }
    }

    private byte[] Output() => _output ?? throw new ObjectDisposedException(nameof(ZstdEncoderStream));

    private void Release()
    {
        _context.Dispose();
        if (_output is { } output)
        {
            _output = null;
            ArrayPool<byte>.Shared.Return(output);
        }
    }
}
