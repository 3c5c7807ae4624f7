namespace Lifeboat.Core.Codecs;

/// <summary>
/// Decompresses zstd (one or more frames) read from another stream. A stream that ends inside a frame, fails a frame's
/// content checksum or is not zstd raises <see cref="InvalidDataException"/>.
/// </summary>
internal sealed class ZstdDecoderStream : DecoderStream
{
    private readonly ZstdNative.DecompressionContext _context;

    public ZstdDecoderStream(Stream inner, bool leaveOpen = false)
        : base(inner, leaveOpen)
    {
        SnapshotCodec.ThrowIfUnavailable(Snapshots.Compression.Zstd);
        _context = ZstdNative.ZSTD_createDCtx();
        if (_context.IsInvalid)
        {
            throw new InvalidOperationException("zstd could not allocate a decompression context");
        }
    }

    protected override string Codec => "zstd";

    protected override unsafe bool DecodeSome(ReadOnlySpan<byte> input, Span<byte> output, out int consumed, out int produced)
    {
        fixed (byte* source = input)
        fixed (byte* destination = output)
        {
            var inBuffer = new ZstdNative.InBuffer { Source = source, Size = (nuint)input.Length };
            var outBuffer = new ZstdNative.OutBuffer { Destination = destination, Size = (nuint)output.Length };
            var pending = ZstdNative.Check(ZstdNative.ZSTD_decompressStream(_context, &outBuffer, &inBuffer), "decompression");
            consumed = (int)inBuffer.Position;
            produced = (int)outBuffer.Position;
            return pending == 0; // 0: a frame is complete and fully flushed
        }
    }

    protected override void ReleaseDecoder() => _context?.Dispose();
}
