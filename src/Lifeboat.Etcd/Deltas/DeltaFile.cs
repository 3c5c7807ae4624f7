using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Google.Protobuf;
using Lifeboat.Core.Errors;
using Lifeboat.Etcd.Deltas.Format;

namespace Lifeboat.Etcd.Deltas;

/// <summary>
/// Writes and reads delta files (docs/delta-format.md): the magic <c>LBDELTA1</c>; typed records, each a type byte,
/// a 4-byte big-endian length and a protobuf message (a <see cref="DeltaHeader"/>, then one
/// <see cref="RevisionRecord"/> per revision, contiguous, then a <see cref="DeltaTrailer"/>); then the SHA-256 of every
/// byte before it. Compression, if any, wraps the whole file.
/// </summary>
public static class DeltaFile
{
    public const uint FormatVersion = 1;

    /// <summary>Largest record a reader accepts; a revision deleting many keys can be large, but not this large.</summary>
    public const int MaxRecordBytes = 256 << 20;

    private const byte HeaderType = 1;
    private const byte RevisionType = 2;
    private const byte TrailerType = 3;
    private const int ChecksumLength = 32;
    private static ReadOnlySpan<byte> Magic => "LBDELTA1"u8;

    /// <summary>Writes a complete delta file.</summary>
    /// <returns>The SHA-256 the file ends with: what the next delta's <see cref="DeltaHeader.PreviousSha256"/> records.</returns>
    /// <exception cref="ArgumentException">The records are not contiguous from the header's first to its last revision.</exception>
    public static async Task<byte[]> WriteAsync(Stream destination, DeltaHeader header, IReadOnlyList<RevisionRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(records);
        CheckContiguous(header, records);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        async Task PutAsync(ReadOnlyMemory<byte> bytes)
        {
            sha.AppendData(bytes.Span);
            await destination.WriteAsync(bytes, cancellationToken);
        }

        await PutAsync(Magic.ToArray());
        await PutAsync(Frame(HeaderType, header));
        long changes = 0;
        foreach (var record in records)
        {
            changes += record.Changes.Count;
            await PutAsync(Frame(RevisionType, record));
        }

        await PutAsync(Frame(TrailerType, new DeltaTrailer { RecordCount = records.Count, ChangeCount = changes, LastRevision = header.LastRevision }));
        var checksum = sha.GetHashAndReset();
        await destination.WriteAsync(checksum, cancellationToken);
        return checksum;
    }

    /// <summary>Bytes a record adds to a file, for size-based flushing.</summary>
    public static int SizeOf(RevisionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return 5 + record.CalculateSize();
    }

    /// <summary>
    /// Reads a delta file, checking its structure as it goes: the header first, revisions contiguous from its first to
    /// its last revision, the trailer's counts, and the SHA-256 at the end. Records are yielded before the checksum is
    /// reached, so callers that must not act on unverified data read the file once with <see cref="VerifyAsync"/> first.
    /// </summary>
    /// <param name="name">The file's name, for error messages.</param>
    /// <param name="onHeader">Called with the header before the first record.</param>
    /// <param name="onChecksum">Called with the file's SHA-256 once it has been checked.</param>
    /// <exception cref="IntegrityException">The file is truncated, corrupted or not a delta file; the message names it.</exception>
    public static async IAsyncEnumerable<RevisionRecord> ReadAsync(Stream source, string name, Action<DeltaHeader>? onHeader,
        [EnumeratorCancellation] CancellationToken cancellationToken, Action<byte[]>? onChecksum = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var fixedBuffer = new byte[8];
        await ReadExactAsync(source, fixedBuffer, name, "its magic", cancellationToken);
        if (!fixedBuffer.AsSpan().SequenceEqual(Magic))
        {
            throw Corrupt(name, "it is not a Lifeboat delta file (bad magic)");
        }

        sha.AppendData(fixedBuffer);
        var (type, bytes, length) = await ReadRecordAsync(source, sha, name, "its header", cancellationToken);
        DeltaHeader header;
        try
        {
            header = type == HeaderType ? DeltaHeader.Parser.ParseFrom(bytes.AsSpan(0, length)) : throw Corrupt(name, "it does not start with a header");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }

        if (header.FormatVersion != FormatVersion)
        {
            throw Corrupt(name, $"it has format version {header.FormatVersion}; this Lifeboat reads version {FormatVersion}");
        }

        if (header.FirstRevision < 1 || header.LastRevision < header.FirstRevision)
        {
            throw Corrupt(name, $"its header has an invalid revision range {header.FirstRevision}..{header.LastRevision}");
        }

        onHeader?.Invoke(header);
        var expected = header.FirstRevision;
        long count = 0;
        long changes = 0;
        while (true)
        {
            (type, bytes, length) = await ReadRecordAsync(source, sha, name, $"revision {expected}", cancellationToken);
            if (type == TrailerType)
            {
                DeltaTrailer trailer;
                try
                {
                    trailer = DeltaTrailer.Parser.ParseFrom(bytes.AsSpan(0, length));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(bytes);
                }

                if (expected != header.LastRevision + 1 || trailer.LastRevision != header.LastRevision
                    || trailer.RecordCount != count || trailer.ChangeCount != changes)
                {
                    throw Corrupt(name, $"it ends at revision {expected - 1} with {count} records, but says {header.LastRevision} with {trailer.RecordCount}");
                }

                break;
            }

            RevisionRecord record;
            try
            {
                record = type == RevisionType
                    ? RevisionRecord.Parser.ParseFrom(bytes.AsSpan(0, length))
                    : throw Corrupt(name, $"record {count + 1} has unknown type {type}");
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw Corrupt(name, $"revision {expected} does not parse ({ex.Message})");
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(bytes);
            }

            if (record.Revision != expected || record.Revision > header.LastRevision)
            {
                throw Corrupt(name, $"it holds revision {record.Revision} where revision {expected} belongs");
            }

            if (record.Changes.Count == 0)
            {
                throw Corrupt(name, $"revision {record.Revision} has no changes");
            }

            count++;
            changes += record.Changes.Count;
            expected++;
            yield return record;
        }

        var checksum = new byte[ChecksumLength];
        await ReadExactAsync(source, checksum, name, "its checksum", cancellationToken);
        if (!CryptographicOperations.FixedTimeEquals(checksum, sha.GetHashAndReset()))
        {
            throw Corrupt(name, "its SHA-256 does not match its content");
        }

        if (await source.ReadAsync(fixedBuffer.AsMemory(0, 1), cancellationToken) != 0)
        {
            throw Corrupt(name, "it has bytes after its checksum");
        }

        onChecksum?.Invoke(checksum);
    }

    /// <summary>Reads a whole delta file and checks everything, including its checksum; returns its header and checksum.</summary>
    public static async Task<(DeltaHeader Header, long Records, long Changes, byte[] Sha256)> VerifyAsync(Stream source, string name, CancellationToken cancellationToken)
    {
        DeltaHeader? header = null;
        byte[] checksum = [];
        long records = 0;
        long changes = 0;
        await foreach (var record in ReadAsync(source, name, h => header = h, cancellationToken, c => checksum = c))
        {
            records++;
            changes += record.Changes.Count;
        }

        return (header!, records, changes, checksum);
    }

    private static void CheckContiguous(DeltaHeader header, IReadOnlyList<RevisionRecord> records)
    {
        if (records.Count == 0 || header.FirstRevision != records[0].Revision || header.LastRevision != records[^1].Revision)
        {
            throw new ArgumentException($"a delta must hold revisions {header.FirstRevision}..{header.LastRevision} and only those");
        }

        for (var i = 0; i < records.Count; i++)
        {
            if (records[i].Revision != header.FirstRevision + i)
            {
                throw new ArgumentException(
                    $"revisions are not contiguous: {records[i].Revision} follows {records[i - 1].Revision} (a watch that misses revisions would leave a gap)");
            }

            if (records[i].Changes.Count == 0)
            {
                throw new ArgumentException($"revision {records[i].Revision} has no changes");
            }
        }
    }

    private static byte[] Frame(byte type, IMessage message)
    {
        var size = message.CalculateSize();
        var buffer = new byte[5 + size];
        buffer[0] = type;
        BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(1), size);
        message.WriteTo(buffer.AsSpan(5));
        return buffer;
    }

    /// <returns>The record type, a pooled buffer holding its bytes (return it), and their length.</returns>
    private static async Task<(byte Type, byte[] Bytes, int Length)> ReadRecordAsync(Stream source, IncrementalHash sha, string name, string what,
        CancellationToken cancellationToken)
    {
        var prefix = new byte[5];
        await ReadExactAsync(source, prefix, name, what, cancellationToken);
        sha.AppendData(prefix);
        var length = BinaryPrimitives.ReadInt32BigEndian(prefix.AsSpan(1));
        if (length < 0 || length > MaxRecordBytes)
        {
            throw Corrupt(name, $"{what} claims {length} bytes");
        }

        var bytes = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            await ReadExactAsync(source, bytes.AsMemory(0, length), name, what, cancellationToken);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(bytes);
            throw;
        }

        sha.AppendData(bytes.AsSpan(0, length));
        return (prefix[0], bytes, length);
    }

    private static async Task ReadExactAsync(Stream source, Memory<byte> buffer, string name, string what, CancellationToken cancellationToken)
    {
        try
        {
            var read = await source.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            if (read < buffer.Length)
            {
                throw Corrupt(name, $"it is truncated (it ends inside {what})");
            }
        }
        catch (InvalidDataException ex)
        {
            throw Corrupt(name, $"its compression is corrupt ({ex.Message})");
        }
    }

    private static IntegrityException Corrupt(string name, string why) =>
        new($"delta {name} is unusable: {why}",
            "restore to a revision before this delta (--to-revision), or take a new full snapshot to start a fresh chain");
}
