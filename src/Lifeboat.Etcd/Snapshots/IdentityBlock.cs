using System.Buffers.Binary;
using System.Security.Cryptography;
using Google.Protobuf;
using Lifeboat.Etcd.Snapshots.Format;

namespace Lifeboat.Etcd.Snapshots;

/// <summary>
/// The 512 bytes Lifeboat puts between a full snapshot's bbolt database and the SHA-256 that ends it: a
/// <see cref="FullSnapshotIdentity"/>, zero padding, then its length, a check of it and the magic <c>LBIDENT1</c>.
/// </summary>
/// <remarks>
/// Why there: the database must stay first (it is what etcd reads) and the file must stay one object. A block of 512
/// bytes keeps the file's size at 32 past a multiple of 512, which is how <c>etcdctl snapshot restore</c> knows a
/// snapshot carries a hash; the hash at the end covers database and block, so etcdctl still checks the file and
/// accepts it, and the extra 512 bytes after the last page are space bbolt never reads. The block is inside the
/// compression and encryption like everything else, so their integrity checks cover it too.
/// </remarks>
public static class IdentityBlock
{
    public const int Size = 512;
    public const uint FormatVersion = 1;
    private const int FooterSize = 16;
    private static ReadOnlySpan<byte> Magic => "LBIDENT1"u8;

    public static byte[] Write(FullSnapshotIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var body = identity.ToByteArray();
        if (body.Length > Size - FooterSize)
        {
            throw new ArgumentException("the identity does not fit its block", nameof(identity));
        }

        var block = new byte[Size];
        body.CopyTo(block, 0);
        var footer = block.AsSpan(Size - FooterSize);
        BinaryPrimitives.WriteInt32BigEndian(footer, body.Length);
        SHA256.HashData(body).AsSpan(0, 4).CopyTo(footer[4..]);
        Magic.CopyTo(footer[8..]);
        return block;
    }

    /// <summary>The identity in <paramref name="block"/>, or null when these 512 bytes are not an identity block (a file written before Lifeboat added it).</summary>
    public static FullSnapshotIdentity? TryRead(ReadOnlySpan<byte> block)
    {
        if (block.Length != Size || !block[^8..].SequenceEqual(Magic))
        {
            return null;
        }

        var footer = block[(Size - FooterSize)..];
        var length = BinaryPrimitives.ReadInt32BigEndian(footer);
        if (length < 0 || length > Size - FooterSize)
        {
            return null;
        }

        var body = block[..length];
        if (!SHA256.HashData(body).AsSpan(0, 4).SequenceEqual(footer.Slice(4, 4)) || block[length..(Size - FooterSize)].ContainsAnyExcept((byte)0))
        {
            return null;
        }

        try
        {
            return FullSnapshotIdentity.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }
}
