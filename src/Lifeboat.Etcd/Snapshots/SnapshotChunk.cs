using Lifeboat.Core.Errors;

namespace Lifeboat.Etcd.Snapshots;

/// <summary>
/// One decoded <c>SnapshotResponse</c> (field 2 <c>remaining_bytes</c>, field 3 <c>blob</c>) whose blob points into the
/// transport's buffer: valid only until the stream advances. Decoded by hand so that a 1 GB snapshot costs no
/// per-chunk allocation or copy.
/// </summary>
public readonly record struct SnapshotChunk(ulong RemainingBytes, ReadOnlyMemory<byte> Blob)
{
    /// <exception cref="IntegrityException">The bytes are not a well-formed SnapshotResponse.</exception>
    public static SnapshotChunk Decode(ReadOnlyMemory<byte> message)
    {
        var span = message.Span;
        var at = 0;
        ulong remaining = 0;
        var blob = ReadOnlyMemory<byte>.Empty;
        while (at < span.Length)
        {
            var tag = ReadVarint(span, ref at);
            var field = tag >> 3;
            switch (tag & 7)
            {
                case 0:
                    var value = ReadVarint(span, ref at);
                    if (field == 2)
                    {
                        remaining = value;
                    }

                    break;
                case 1:
                    at = Advance(span, at, 8);
                    break;
                case 2:
                    var length = ReadVarint(span, ref at);
                    var start = at;
                    at = Advance(span, at, length);
                    if (field == 3)
                    {
                        blob = message[start..at];
                    }

                    break;
                case 5:
                    at = Advance(span, at, 4);
                    break;
                default:
                    throw Malformed();
            }
        }

        return new SnapshotChunk(remaining, blob);
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> span, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= span.Length)
            {
                throw Malformed();
            }

            var b = span[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw Malformed();
    }

    private static int Advance(ReadOnlySpan<byte> span, int at, ulong count) =>
        count <= (ulong)(span.Length - at) ? at + (int)count : throw Malformed();

    private static IntegrityException Malformed() =>
        new("etcd sent a malformed snapshot message", "take the snapshot again; check that the endpoint is etcd");
}
