using System.Buffers.Binary;

namespace Lifeboat.Etcd.Bolt;

/// <summary>
/// The constants of bbolt's on-disk format (page.go) that the scanner and the checker share: little-endian, a 16-byte
/// page header (id u64, flags u16, count u16, overflow u32), meta pages 0 and 1 checked by FNV-1a.
/// </summary>
internal static class BoltFormat
{
    public const uint Magic = 0xED0CDAED;
    public const ushort BranchPage = 0x01;
    public const ushort LeafPage = 0x02;
    public const ushort MetaPage = 0x04;
    public const ushort FreelistPage = 0x10;
    public const uint BucketLeafFlag = 0x01;
    public const int PageHeaderSize = 16;

    /// <summary>What a meta page records: the root bucket's page, the freelist's page, the high-water mark, the transaction and the page size.</summary>
    public readonly record struct Meta(long Root, ulong Freelist, long HighWater, long TxId, int PageSize);

    /// <summary>The meta record of <paramref name="page"/> (a whole page, header included), or null when it is not valid: magic, version 2, checksum.</summary>
    public static Meta? ReadMeta(ReadOnlySpan<byte> page)
    {
        var m = page[PageHeaderSize..];
        if (BinaryPrimitives.ReadUInt32LittleEndian(m) != Magic || BinaryPrimitives.ReadUInt32LittleEndian(m[4..]) != 2
            || Fnv1a64(m[..56]) != BinaryPrimitives.ReadUInt64LittleEndian(m[56..]))
        {
            return null;
        }

        return new Meta(BinaryPrimitives.ReadInt64LittleEndian(m[16..]), BinaryPrimitives.ReadUInt64LittleEndian(m[32..]),
            BinaryPrimitives.ReadInt64LittleEndian(m[40..]), BinaryPrimitives.ReadInt64LittleEndian(m[48..]), (int)BinaryPrimitives.ReadUInt32LittleEndian(m[8..]));
    }

    /// <summary>
    /// The page size the first meta page records, or the OS page size when it is implausible: page 0 may be the damaged
    /// one, and bbolt then reads page 1 at the OS page size. For readers with random access (the streaming scanner refuses instead).
    /// </summary>
    public static int PageSizeOrDefault(ReadOnlySpan<byte> first)
    {
        var pageSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(first[(PageHeaderSize + 8)..]);
        return pageSize is < 512 or > 1 << 20 || (pageSize & (pageSize - 1)) != 0 ? Environment.SystemPageSize : pageSize;
    }

    /// <summary>FNV-1a, 64 bits: the checksum of a meta page (over its first 56 bytes).</summary>
    public static ulong Fnv1a64(ReadOnlySpan<byte> data)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in data)
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }

        return hash;
    }
}
