using System.Buffers.Binary;
using Lifeboat.Etcd.Init.Wal;

namespace Lifeboat.Etcd.Init;

/// <summary>Reads which member and cluster wrote an etcd write-ahead log, from the metadata record of a WAL file.</summary>
/// <remarks>
/// A WAL file is a sequence of frames: an 8-byte little-endian word whose low 56 bits are the record's length and, when
/// the top bit is set, bits 56–58 the number of padding bytes that follow it (records are padded to 8 bytes); then the
/// <see cref="WalRecord"/>. Every file starts with a crc record and a metadata record (type 1) holding
/// <see cref="MemberMetadata"/>.
/// </remarks>
public static class WalMetadataReader
{
    private const long MetadataType = 1;
    private const int MaxRecordsScanned = 8;
    private const long MaxRecordBytes = 10 << 20;

    /// <summary>The member id and cluster id of the WAL in <paramref name="walDirectory"/>.</summary>
    /// <exception cref="InvalidDataException">No readable WAL file, or its first records hold no metadata.</exception>
    public static (ulong Member, ulong Cluster) Read(string walDirectory)
    {
        var files = Directory.Exists(walDirectory)
            ? Directory.GetFiles(walDirectory, "*.wal").Order(StringComparer.Ordinal).ToList()
            : [];
        if (files.Count == 0)
        {
            throw new InvalidDataException($"{walDirectory} holds no .wal file");
        }

        // The newest file is the one etcd reads on; every file carries the same metadata.
        using var stream = new FileStream(files[^1], FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 4096);
        Span<byte> frame = stackalloc byte[8];
        for (var i = 0; i < MaxRecordsScanned; i++)
        {
            stream.ReadExactly(frame);
            var word = BinaryPrimitives.ReadUInt64LittleEndian(frame);
            var length = (long)(word & 0x00FF_FFFF_FFFF_FFFFUL);
            var padding = (word & (1UL << 63)) != 0 ? (int)((word >> 56) & 0x7) : 0;
            if (length == 0 || length > MaxRecordBytes)
            {
                break;
            }

            var bytes = new byte[length + padding];
            stream.ReadExactly(bytes);
            var record = WalRecord.Parser.ParseFrom(bytes, 0, (int)length);
            if (record.Type == MetadataType)
            {
                var metadata = MemberMetadata.Parser.ParseFrom(record.Data);
                return (metadata.NodeId, metadata.ClusterId);
            }
        }

        throw new InvalidDataException($"{files[^1]} starts with no metadata record");
    }
}
