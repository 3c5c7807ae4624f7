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
