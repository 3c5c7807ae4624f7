using Lifeboat.Core.Errors;
using Lifeboat.Core.IO;
using CompressionKind = Lifeboat.Core.Snapshots.Compression;

namespace Lifeboat.Core.Codecs;

/// <summary>The one place that turns a <see cref="CompressionKind"/> into streams, and says what each needs.</summary>
public static class SnapshotCodec
{
    /// <summary>Why <paramref name="compression"/> cannot be used here, or null when it can.</summary>
    public static string? Unavailable(CompressionKind compression) =>
        compression == CompressionKind.Zstd ? ZstdNative.Unavailable : null;

    /// <exception cref="CodecUnavailableException">The codec's library is missing.</exception>
    public static void ThrowIfUnavailable(CompressionKind compression)
    {
        if (Unavailable(compression) is { } why)
        {
            throw new CodecUnavailableException($"{compression.ToString().ToLowerInvariant()} compression cannot be used: {why}",
                "install it (apt-get install libzstd1), or write with --compression gzip");
        }
    }

    /// <summary>
    /// A stream that compresses into <paramref name="destination"/>, which it never closes; disposing it writes the
    /// codec's trailer, so dispose it before committing what <paramref name="destination"/> holds.
    /// </summary>
    public static Stream Compressing(Stream destination, CompressionKind compression) => compression switch
    {
        CompressionKind.None => new NonClosingStream(destination),
        CompressionKind.Gzip => new GzipEncoderStream(destination),
        CompressionKind.Zstd => new ZstdEncoderStream(destination, level: 1, workers: ZstdWorkers),
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, null),
    };

    /// <summary>A stream of the bytes <paramref name="source"/> holds compressed; disposing it disposes <paramref name="source"/>.</summary>
    /// <remarks>Corrupt or truncated input raises <see cref="InvalidDataException"/> while reading.</remarks>
    public static Stream Decompressing(Stream source, CompressionKind compression) => compression switch
    {
        CompressionKind.None => source,
        CompressionKind.Gzip => new GzipDecoderStream(source),
        CompressionKind.Zstd => new ZstdDecoderStream(source),
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, null),
    };

    /// <summary>The name suffix that records <paramref name="compression"/>; empty for none.</summary>
    public static string Suffix(CompressionKind compression) => compression switch
    {
        CompressionKind.None => "",
        CompressionKind.Gzip => ".gz",
        CompressionKind.Zstd => ".zst",
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, null),
    };

    // One helper thread beside the writer on small machines; never more than four.
    private static int ZstdWorkers => Math.Clamp(Environment.ProcessorCount - 1, 1, 4);

    /// <summary>Passes writes through and leaves the destination open when disposed, like the compressing streams do.</summary>
    private sealed class NonClosingStream(Stream inner) : WriteOnlyStream
    {

        public override bool CanWrite => true;

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(buffer, cancellationToken);

    }
}
