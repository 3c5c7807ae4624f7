using System.Buffers;
using Lifeboat.Core.IO;

namespace Lifeboat.Core.Codecs;

/// <summary>
/// A read-only stream that decodes what it reads from another stream through a native streaming decoder. It owns the
/// input buffering and the end-of-stream rule that .NET's own <c>GZipStream</c> lacks: input that ends before the
/// decoder has finished a frame (or member) is <see cref="InvalidDataException"/>, never a short read.
/// </summary>
internal abstract class DecoderStream : ReadOnlyStream
{
    private const int InputSize = 128 * 1024;

    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private byte[]? _input;
    private int _start;
    private int _end;
    private bool _eof;
    private bool _frameEnded;
    private bool _released;

    protected DecoderStream(Stream inner, bool leaveOpen)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _leaveOpen = leaveOpen;
        _input = ArrayPool<byte>.Shared.Rent(InputSize);
    }

    /// <summary>The codec's name, for messages.</summary>
    protected abstract string Codec { get; }

    public override bool CanRead => _input is not null;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var input = Input();
        while (!buffer.IsEmpty && !Done)
        {
            if (_start == _end && !_eof)
            {
                Fill(_inner.Read(input));
            }

            if (Decode(buffer) is var produced and > 0)
            {
                return produced;
            }
        }

        return 0;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var input = Input();
        while (!buffer.IsEmpty && !Done)
        {
            if (_start == _end && !_eof)
            {
                Fill(await _inner.ReadAsync(input, cancellationToken).ConfigureAwait(false));
            }

            if (Decode(buffer.Span) is var produced and > 0)
            {
                return produced;
            }
        }

        return 0;
    }

    /// <summary>
    /// Decodes from <paramref name="input"/> into <paramref name="output"/>; true when a frame (member) ended and all of
    /// its output was returned. After a frame ended, the next call starts a new one (concatenated streams).
    /// </summary>
    /// <exception cref="InvalidDataException">The input is not valid for the codec or fails its checksum.</exception>
    protected abstract bool DecodeSome(ReadOnlySpan<byte> input, Span<byte> output, out int consumed, out int produced);

    /// <summary>Frees the native decoder; called once.</summary>
    protected abstract void ReleaseDecoder();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Release())
        {
            if (!_leaveOpen)
            {
                _inner.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (Release() && !_leaveOpen)
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>True at the clean end: no input left and the last frame complete.</summary>
    private bool Done => _eof && _start == _end && _frameEnded;

    private void Fill(int read)
    {
        _start = 0;
        _end = read;
        _eof = read == 0;
    }

    private int Decode(Span<byte> buffer)
    {
        if (_frameEnded && _start == _end)
        {
            return 0; // between frames: only more input (another frame) or the end of input can follow
        }

        var input = Input();
        _frameEnded = DecodeSome(input.AsSpan(_start, _end - _start), buffer, out var consumed, out var produced);
        _start += consumed;
        if (produced == 0 && consumed == 0 && _eof && _start == _end && !_frameEnded)
        {
            throw new InvalidDataException($"{Codec} stream ends inside a frame (truncated)");
        }

        return produced;
    }

    private bool Release()
    {
        if (_released)
        {
            return false;
        }

        _released = true;
        ReleaseDecoder();
        if (_input is { } input)
        {
            _input = null;
            ArrayPool<byte>.Shared.Return(input);
        }

        return true;
    }

    private byte[] Input() => _input ?? throw new ObjectDisposedException(GetType().Name);
}
