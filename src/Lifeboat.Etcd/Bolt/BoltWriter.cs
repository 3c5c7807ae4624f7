using System.Buffers.Binary;

namespace Lifeboat.Etcd.Bolt;

/// <summary>
/// Writes a new bbolt database file by bulk loading: top-level buckets in name order, each bucket's keys in strictly
/// increasing order. Leaves are written as they fill, so memory holds one page plus the first key of every page of the
/// bucket being written; branch pages follow each bucket's leaves, the page of bucket roots comes last, then an empty
/// freelist and both meta pages.
/// </summary>
/// <remarks>
/// <para>
/// A writer for fresh files, not a B+tree: nothing is updated in place. The format is bbolt's (page.go, node.go,
/// meta.go in go.etcd.io/bbolt): little-endian; a 16-byte page header (id, flags, count, overflow); leaf elements of
/// 16 bytes (flags, pos, ksize, vsize) and branch elements of 16 bytes (pos, ksize, child page id), each pos counted
/// from the element itself; a node larger than a page runs on into overflow pages; a bucket is an element of its
/// parent's leaf flagged 1 whose value is (root page id, sequence). Every bucket gets a page of its own (bbolt may also
/// keep small buckets inline; readers take both). Pages are filled up to the page size: bbolt splits them when etcd
/// later writes to them.
/// </para>
/// <para>
/// Written by hand because no .NET library writes bbolt files; see docs/restore.md for how its output is proven (etcd
/// opens it, and etcdctl's hash of its content equals the source's).
/// </para>
/// </remarks>
public sealed class BoltWriter : IDisposable
{
    private const int HeaderSize = BoltFormat.PageHeaderSize;
    private const int ElementSize = 16;
    private const long FreelistPage = 2;
    private readonly Stream _output;
    private readonly int _pageSize;
    private readonly List<(byte[] Name, long Root)> _buckets = [];
    private readonly List<(byte[] Key, long Page)> _level = [];
    private readonly MemoryStream _node = new();
    private readonly List<(int KeyOffset, int KeyLength, int ValueLength)> _elements = [];
    private byte[]? _bucket;
    private byte[] _lastKey = new byte[64];
    private int _lastKeyLength = -1; // none yet in this bucket
    private long _position = -1; // where the output stands, when known: pages written in order need no seek
    private long _nextPage = 3; // 0 and 1: meta; 2: the freelist
    private bool _completed;

    /// <param name="output">A new, empty, seekable file: the meta pages are written last, at its start.</param>
    public BoltWriter(Stream output, int pageSize = 4096)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!output.CanSeek || output.Length != 0)
        {
            throw new ArgumentException("the output must be an empty, seekable stream", nameof(output));
        }

        if (pageSize is < 1024 or > 1 << 16 || (pageSize & (pageSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize, "a power of two from 1024 to 65536");
        }

        _output = output;
        _pageSize = pageSize;
    }

    /// <summary>Pages written so far (the high-water mark once completed).</summary>
    public long Pages => _nextPage;

    /// <summary>Starts the next top-level bucket; names must come in increasing order.</summary>
    public void BeginBucket(ReadOnlySpan<byte> name)
    {
        if (_bucket is not null || _completed)
        {
            throw new InvalidOperationException("end the current bucket first");
        }

        if (name.IsEmpty || (_buckets.Count > 0 && name.SequenceCompareTo(_buckets[^1].Name) <= 0))
        {
            throw new ArgumentException("bucket names must be non-empty and in increasing order", nameof(name));
        }

        _bucket = name.ToArray();
        _lastKeyLength = -1;
    }

    /// <summary>Adds the next key of the current bucket; keys must come in strictly increasing order.</summary>
    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (_bucket is null)
        {
            throw new InvalidOperationException("begin a bucket first");
        }

        if (key.IsEmpty || (_lastKeyLength >= 0 && key.SequenceCompareTo(_lastKey.AsSpan(0, _lastKeyLength)) <= 0))
        {
            throw new ArgumentException("keys must be non-empty and in strictly increasing order", nameof(key));
        }

        if (_elements.Count > 0 && HeaderSize + (long)((_elements.Count + 1) * ElementSize) + _node.Length + key.Length + value.Length > _pageSize)
        {
            FlushLeaf();
        }

        AddElement(key, value);
        if (key.Length > _lastKey.Length)
        {
            _lastKey = new byte[Math.Max(key.Length, _lastKey.Length * 2)];
        }

        key.CopyTo(_lastKey);
        _lastKeyLength = key.Length;
    }

    /// <summary>Ends the current bucket: writes its last leaf and its branch pages.</summary>
    public void EndBucket()
    {
        if (_bucket is null)
        {
            throw new InvalidOperationException("no bucket is open");
        }

        if (_elements.Count > 0 || _level.Count == 0)
        {
            FlushLeaf(); // an empty bucket still gets its (empty) root leaf
        }

        var root = BuildBranches();
        _buckets.Add((_bucket, root));
        _bucket = null;
    }

    /// <summary>Writes the page of bucket roots, the freelist and both meta pages; the file is then a complete database.</summary>
    /// <param name="txId">The transaction id the meta pages record (the second meta page gets the next one).</param>
    public void Complete(long txId = 2)
    {
        if (_bucket is not null || _completed)
        {
            throw new InvalidOperationException(_completed ? "already completed" : "end the current bucket first");
        }

        foreach (var (name, root) in _buckets)
        {
            var header = new byte[16];
            BinaryPrimitives.WriteInt64LittleEndian(header, root);
            AddElement(name, header);
        }

        var rootPage = WriteLeaf(bucketFlags: true);
        _completed = true;

        var freelist = new byte[_pageSize];
        WritePageHeader(freelist, FreelistPage, BoltFormat.FreelistPage, 0, 0);
        WriteAt(FreelistPage, freelist);

        for (var id = 0; id < 2; id++)
        {
            var meta = new byte[_pageSize];
            WritePageHeader(meta, id, BoltFormat.MetaPage, 0, 0);
            var m = meta.AsSpan(HeaderSize);
            BinaryPrimitives.WriteUInt32LittleEndian(m, BoltFormat.Magic);
            BinaryPrimitives.WriteUInt32LittleEndian(m[4..], 2);
            BinaryPrimitives.WriteUInt32LittleEndian(m[8..], (uint)_pageSize);
            BinaryPrimitives.WriteInt64LittleEndian(m[16..], rootPage); // root bucket: (root, sequence 0)
            BinaryPrimitives.WriteInt64LittleEndian(m[32..], FreelistPage);
            BinaryPrimitives.WriteInt64LittleEndian(m[40..], _nextPage);
            BinaryPrimitives.WriteInt64LittleEndian(m[48..], txId + id);
            BinaryPrimitives.WriteUInt64LittleEndian(m[56..], BoltFormat.Fnv1a64(m[..56]));
            WriteAt(id, meta);
        }

        _output.SetLength(_nextPage * _pageSize);
        _output.Flush();
    }

    public void Dispose() => _node.Dispose();

    private void AddElement(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        _elements.Add(((int)_node.Length, key.Length, value.Length));
        _node.Write(key);
        _node.Write(value);
    }

    private void FlushLeaf()
    {
        var first = _elements.Count > 0 ? _node.GetBuffer().AsSpan(_elements[0].KeyOffset, _elements[0].KeyLength).ToArray() : [];
        _level.Add((first, WriteLeaf(bucketFlags: false)));
    }

    /// <summary>Builds the branch levels above the bucket's leaves; returns the bucket's root page.</summary>
    private long BuildBranches()
    {
        var level = new List<(byte[] Key, long Page)>(_level);
        _level.Clear();
        while (level.Count > 1)
        {
            var next = new List<(byte[] Key, long Page)>();
            var start = 0;
            long size = HeaderSize;
            for (var i = 0; i < level.Count; i++)
            {
                var add = ElementSize + level[i].Key.Length;
                if (i > start && size + add > _pageSize)
                {
                    next.Add((level[start].Key, WriteBranch(level, start, i)));
                    start = i;
                    size = HeaderSize;
                }

                size += add;
            }

            next.Add((level[start].Key, WriteBranch(level, start, level.Count)));
            level = next;
        }

        return level[0].Page;
    }

    private long WriteBranch(List<(byte[] Key, long Page)> level, int from, int to)
    {
        var count = to - from;
        var size = HeaderSize + (count * ElementSize) + level.Skip(from).Take(count).Sum(e => e.Key.Length);
        var pages = (size + _pageSize - 1) / _pageSize;
        var buffer = new byte[pages * _pageSize];
        var id = _nextPage;
        WritePageHeader(buffer, id, BoltFormat.BranchPage, count, pages - 1);
        var data = HeaderSize + (count * ElementSize);
        for (var i = 0; i < count; i++)
        {
            var (key, child) = level[from + i];
            var at = HeaderSize + (i * ElementSize);
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at), (uint)(data - at));
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at + 4), (uint)key.Length);
            BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(at + 8), child);
            key.CopyTo(buffer, data);
            data += key.Length;
        }

        WriteAt(id, buffer);
        _nextPage += pages;
        return id;
    }

    /// <summary>Writes the buffered elements as one leaf node (on overflow pages when larger than a page) and clears them.</summary>
    private long WriteLeaf(bool bucketFlags)
    {
        var count = _elements.Count;
        var size = HeaderSize + (count * ElementSize) + (int)_node.Length;
        var pages = (size + _pageSize - 1) / _pageSize;
        var buffer = new byte[pages * _pageSize];
        var id = _nextPage;
        WritePageHeader(buffer, id, BoltFormat.LeafPage, count, pages - 1);
        var data = HeaderSize + (count * ElementSize);
        var node = _node.GetBuffer();
        for (var i = 0; i < count; i++)
        {
            var (keyOffset, keyLength, valueLength) = _elements[i];
            var at = HeaderSize + (i * ElementSize);
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at), bucketFlags ? BoltFormat.BucketLeafFlag : 0);
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at + 4), (uint)(data - at));
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at + 8), (uint)keyLength);
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at + 12), (uint)valueLength);
            node.AsSpan(keyOffset, keyLength + valueLength).CopyTo(buffer.AsSpan(data));
            data += keyLength + valueLength;
        }

        WriteAt(id, buffer);
        _nextPage += pages;
        _elements.Clear();
        _node.SetLength(0);
        return id;
    }

    private static void WritePageHeader(Span<byte> page, long id, ushort flags, int count, long overflow)
    {
        if (count > ushort.MaxValue)
        {
            throw new InvalidOperationException("a page holds at most 65535 elements");
        }

        BinaryPrimitives.WriteInt64LittleEndian(page, id);
        BinaryPrimitives.WriteUInt16LittleEndian(page[8..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(page[10..], (ushort)count);
        BinaryPrimitives.WriteUInt32LittleEndian(page[12..], checked((uint)overflow));
    }

    private void WriteAt(long page, byte[] bytes)
    {
        // Seeking a buffered stream flushes its buffer: pages written one after the other (all but the meta pages)
        // are left to coalesce into large writes.
        var at = page * _pageSize;
        if (at != _position)
        {
            _output.Position = at;
        }

        _output.Write(bytes);
        _position = at + bytes.Length;
    }
}
