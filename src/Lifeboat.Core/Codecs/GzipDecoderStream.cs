namespace Lifeboat.Core.Codecs;

/// <summary>
/// Decompresses gzip (one or more members) read from another stream, through zlib, checking every member's CRC-32 and
/// length. A stream that ends inside a member, fails a check or is not gzip raises <see cref="InvalidDataException"/>.
/// </summary>
internal sealed unsafe class GzipDecoderStream : DecoderStream
{
    private ZlibNative.ZStream* _stream;
    private bool _memberEnded;

    public GzipDecoderStream(Stream inner, bool leaveOpen = false)
        : base(inner, leaveOpen)
    {
        _stream = ZlibNative.CreateGzipInflater();
    }

    protected override string Codec => "gzip";

    protected override bool DecodeSome(ReadOnlySpan<byte> input, Span<byte> output, out int consumed, out int produced)
    {
        if (_memberEnded)
        {
            if (input.IsEmpty)
            {
                consumed = produced = 0;
                return true;
            }

            _ = ZlibNative.inflateReset(_stream); // another member follows
            _memberEnded = false;
        }

        fixed (byte* source = input)
        fixed (byte* destination = output)
        {
            _stream->NextIn = source;
            _stream->AvailIn = (uint)input.Length;
            _stream->NextOut = destination;
            _stream->AvailOut = (uint)output.Length;
            var result = ZlibNative.Inflate(_stream);
            consumed = input.Length - (int)_stream->AvailIn;
            produced = output.Length - (int)_stream->AvailOut;
            _stream->NextIn = null;
            _stream->NextOut = null;
            _memberEnded = result == ZlibNative.StreamEnd;
            return _memberEnded;
        }
    }

    protected override void ReleaseDecoder()
    {
        if (_stream is not null)
        {
            ZlibNative.DestroyInflater(_stream);
            _stream = null;
        }
    }
}
