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
    private readonly Dictionary<string, (long Root, byte[]? Inline)> _buckets = new(StringComparer.Ordinal);

    public BoltReader(string path)
    {
        _file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var first = new byte[HeaderSize + 64];
        RandomAccess.Read(_file, first, 0);
        PageSize = BoltFormat.PageSizeOrDefault(first);
        var best = new[] { BoltFormat.ReadMeta(Read(0, 1)), BoltFormat.ReadMeta(Read(1, 1)) }.Where(m => m is not null).MaxBy(m => m!.Value.TxId)
            ?? throw new InvalidDataException($"{path} is not a readable bbolt database (neither meta page is valid)");

        foreach (var (key, value, isBucket) in Walk(best.Root, null))
        {
            if (isBucket && value.Length >= 16)
            {
                var root = BinaryPrimitives.ReadInt64LittleEndian(value.Span);
                _buckets[System.Text.Encoding.UTF8.GetString(key.Span)] = (root, root == 0 ? value[16..].ToArray() : null);
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

        foreach (var (key, value, isBucket) in Walk(b.Root, b.Inline))
        {
            if (isBucket)
            {
                throw new InvalidDataException($"bucket '{bucket}' holds a nested bucket, which etcd never writes");
            }

            yield return (key, value);
        }
    }

    public void Dispose() => _file.Dispose();

    private IEnumerable<(ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value, bool IsBucket)> Walk(long root, byte[]? inline)
    {
        var stack = new Stack<(byte[] Page, int Next)>();
        stack.Push((inline ?? ReadNode(root), 0));
        while (stack.Count > 0)
        {
            var (page, next) = stack.Pop();
            var flags = BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(8));
            int count = BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(10));
            if ((flags & BoltFormat.BranchPage) != 0)
            {
                if (next < count)
                {
                    stack.Push((page, next + 1));
                    var child = BinaryPrimitives.ReadInt64LittleEndian(page.AsSpan(HeaderSize + (next * 16) + 8));
                    stack.Push((ReadNode(child), 0));
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
                yield return (page.AsMemory(keyStart, keySize), page.AsMemory(keyStart + keySize, valueSize), (elementFlags & BoltFormat.BucketLeafFlag) != 0);
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
