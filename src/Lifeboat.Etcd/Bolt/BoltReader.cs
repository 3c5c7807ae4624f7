using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Lifeboat.Etcd.Bolt;

/// <summary>
/// Reads a bbolt database file in key order, bucket by bucket, from the current meta page: what a restore copies
/// into the database it writes. Only the top-level buckets etcd uses are read (a nested bucket is reported, not
/// entered). The file is opened read-only; <see cref="BoltChecker"/> is what says whether it is sound.
/// </summary>
public sealed class BoltReader : IDisposable
{
    private const int HeaderSize = BoltFormat.PageHeaderSize;
    private readonly SafeFileHandle _file;
    private readonly Dictionary<string, (long Root, byte[]? Inline, long InlineOffset)> _buckets = new(StringComparer.Ordinal);

    public BoltReader(string path)
    {
        _file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var first = new byte[HeaderSize + 64];
        RandomAccess.Read(_file, first, 0);
        PageSize = BoltFormat.PageSizeOrDefault(first);
        var best = new[] { BoltFormat.ReadMeta(Read(0, 1)), BoltFormat.ReadMeta(Read(1, 1)) }.Where(m => m is not null).MaxBy(m => m!.Value.TxId)
            ?? throw new InvalidDataException($"{path} is not a readable bbolt database (neither meta page is valid)");

        foreach (var (key, value, isBucket, offset) in Walk(best.Root, null, 0))
        {
            if (isBucket && value.Length >= 16)
            {
                var root = BinaryPrimitives.ReadInt64LittleEndian(value.Span);
                _buckets[System.Text.Encoding.UTF8.GetString(key.Span)] = (root, root == 0 ? value[16..].ToArray() : null, offset + 16);
            }
        }
    }

    public int PageSize { get; }

    /// <summary>The top-level buckets, in name order.</summary>
    public IReadOnlyList<string> Buckets => [.. _buckets.Keys.Order(StringComparer.Ordinal)];

    public bool HasBucket(string name) => _buckets.ContainsKey(name);

    /// <summary>
    /// The entries of a top-level bucket, in key order. The memory of each key and value is valid until the next
    /// entry is read; copy what is kept.
    /// </summary>
    public IEnumerable<(ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value)> Entries(string bucket)
    {
        if (!_buckets.TryGetValue(bucket, out var b))
        {
            yield break;
        }

        foreach (var (key, value, isBucket, _) in Walk(b.Root, b.Inline, b.InlineOffset))
        {
            if (isBucket)
            {
                throw new InvalidDataException($"bucket '{bucket}' holds a nested bucket, which etcd never writes");
            }

            yield return (key, value);
        }
    }

    /// <summary>
    /// Where the value of <paramref name="key"/> in a top-level bucket lies in the file, so that a value can be
    /// replaced in place by one of the same length (bbolt keeps no checksum of its data pages). Null when absent.
    /// </summary>
    public (long Offset, int Length)? ValueLocation(string bucket, ReadOnlySpan<byte> key)
    {
        if (!_buckets.TryGetValue(bucket, out var b))
        {
            return null;
        }

        foreach (var (k, value, isBucket, offset) in Walk(b.Root, b.Inline, b.InlineOffset))
        {
            if (!isBucket && k.Span.SequenceEqual(key))
            {
                return (offset, value.Length);
            }
        }

        return null;
    }

    public void Dispose() => _file.Dispose();

    /// <summary>Every element under a bucket's root, with the file offset of its value.</summary>
    /// <param name="inlineOffset">Where an inline bucket's page lies in the file.</param>
    private IEnumerable<(ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value, bool IsBucket, long ValueOffset)> Walk(long root, byte[]? inline, long inlineOffset)
    {
        var stack = new Stack<(byte[] Page, int Next, long Offset)>();
        stack.Push(inline is null ? (ReadNode(root), 0, root * PageSize) : (inline, 0, inlineOffset));
        while (stack.Count > 0)
        {
            var (page, next, pageOffset) = stack.Pop();
            var flags = BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(8));
            int count = BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(10));
            if ((flags & BoltFormat.BranchPage) != 0)
            {
                if (next < count)
                {
                    stack.Push((page, next + 1, pageOffset));
                    var child = BinaryPrimitives.ReadInt64LittleEndian(page.AsSpan(HeaderSize + (next * 16) + 8));
                    stack.Push((ReadNode(child), 0, child * PageSize));
                }

                continue;
            }

            if ((flags & BoltFormat.LeafPage) == 0)
            {
                throw new InvalidDataException($"page {BinaryPrimitives.ReadInt64LittleEndian(page)} is neither a branch nor a leaf");
            }

            for (var i = 0; i < count; i++)
            {
                var at = HeaderSize + (i * 16);
                var elementFlags = BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(at));
                var keyStart = at + (int)BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(at + 4));
                var keySize = (int)BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(at + 8));
                var valueSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(at + 12));
                yield return (page.AsMemory(keyStart, keySize), page.AsMemory(keyStart + keySize, valueSize), (elementFlags & BoltFormat.BucketLeafFlag) != 0,
                    pageOffset + keyStart + keySize);
            }
        }
    }

    /// <summary>A page with its overflow pages.</summary>
    private byte[] ReadNode(long id)
    {
        var head = Read(id, 1);
        var overflow = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(12));
        return overflow == 0 ? head : Read(id, overflow + 1L);
    }

    private byte[] Read(long id, long pages)
    {
        var bytes = new byte[checked((int)(pages * PageSize))];
        return RandomAccess.Read(_file, bytes, id * PageSize) == bytes.Length ? bytes : throw new InvalidDataException($"page {id} lies past the end of the file");
    }
}
