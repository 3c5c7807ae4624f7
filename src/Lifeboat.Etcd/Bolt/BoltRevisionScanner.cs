using System.Buffers;
using System.Buffers.Binary;
using Lifeboat.Core.Errors;

namespace Lifeboat.Etcd.Bolt;

/// <summary>
/// Finds the etcd revision held by a bbolt database while it streams past, without seeking and with memory that is a
/// small fraction of the database: the exact revision etcd itself will report after restoring it.
/// </summary>
/// <remarks>
/// <para>
/// etcd computes its revision at start-up as the newest main revision in the <c>key</c> bucket (keys are 8-byte
/// big-endian main revision, <c>_</c>, 8-byte sub revision, optionally <c>t</c> for a tombstone), raised to the
/// <c>finishedCompactRev</c> of the <c>meta</c> bucket when compaction removed the newest keys, and at least 1. This
/// scanner computes the same thing.
/// </para>
/// <para>
/// bbolt format (little-endian, as written on the x86-64 and arm64 hosts etcd runs on): every page starts with a
/// 16-byte header (id u64, flags u16, count u16, overflow u32). Pages 0 and 1 hold meta records (magic 0xED0CDAED,
/// version 2, page size, root bucket page, txid, FNV-1a checksum); the valid one with the higher txid is current.
/// Branch elements are (pos u32, ksize u32, child pgid u64); leaf elements are (flags u32, pos u32, ksize u32, vsize
/// u32), with flag 1 marking a nested bucket whose value is a (root pgid u64, sequence u64) header, followed by an
/// inline page when the root is 0.
/// </para>
/// <para>
/// Pages arrive in file order but the tree is only known at the end, and freed pages keep stale contents. So every
/// page whose header names its own position is summarized (branch pages and bucket-holding leaves in full, other leaves
/// as their last revision), a page spanning overflow pages is captured whole while the following positions are still
/// examined, and the tree is walked from the current meta page only in <see cref="Complete"/>: stale pages are never
/// reached.
/// </para>
/// </remarks>
public sealed class BoltRevisionScanner
{
    private const uint Magic = BoltFormat.Magic;
    private const ushort BranchPage = BoltFormat.BranchPage;
    private const ushort LeafPage = BoltFormat.LeafPage;
    private const ushort MetaPage = BoltFormat.MetaPage;
    private const uint BucketLeafFlag = BoltFormat.BucketLeafFlag;
    private const int PageHeaderSize = BoltFormat.PageHeaderSize;
    private const int MinHeaderBytes = PageHeaderSize + 64;
    private static ReadOnlySpan<byte> FinishedCompactRevKey => "finishedCompactRev"u8;

    private readonly long _maxCapturedPageBytes;
    private readonly Dictionary<long, byte[]> _branches = [];
    private readonly Dictionary<long, byte[]> _bucketLeaves = [];
    private readonly Dictionary<long, byte[]> _metaLeaves = [];
    private readonly List<long> _leafIds = [];
    private readonly List<long> _leafRevisions = [];
    private readonly List<Capture> _captures = [];
    private readonly List<LeafElement> _elements = [];
    private readonly BoltFormat.Meta?[] _metas = new BoltFormat.Meta?[2];
    private (long[] Ids, long[] Revisions)? _leafRevisionIndex;
    private byte[] _block = new byte[MinHeaderBytes];
    private int _blockFill;
    private int _pageSize;
    private long _pageIndex;
    private long _bytes;

    /// <param name="maxCapturedPageBytes">Largest multi-page (overflow) page kept for inspection; larger ones are skipped.</param>
    public BoltRevisionScanner(long maxCapturedPageBytes = 256L * 1024 * 1024)
    {
        _maxCapturedPageBytes = maxCapturedPageBytes;
    }

    /// <summary>Bytes seen so far.</summary>
    public long Length => _bytes;

    /// <summary>Feeds the next bytes of the database.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        _bytes += data.Length;
        while (!data.IsEmpty)
        {
            if (_pageSize != 0 && _blockFill == 0 && data.Length >= _pageSize)
            {
                OnBlock(data[.._pageSize]); // whole pages in place: no copy for the pages that are not kept
                data = data[_pageSize..];
                continue;
            }

            var want = (_pageSize == 0 ? MinHeaderBytes : _pageSize) - _blockFill;
            var n = Math.Min(want, data.Length);
            data[..n].CopyTo(_block.AsSpan(_blockFill));
            _blockFill += n;
            data = data[n..];
            if (_pageSize == 0 && _blockFill == MinHeaderBytes)
            {
                _pageSize = ReadPageSize(_block);
                var block = new byte[_pageSize];
                _block.AsSpan(0, _blockFill).CopyTo(block);
                _block = block;
            }
            else if (_pageSize != 0 && _blockFill == _pageSize)
            {
                OnBlock(_block);
                _blockFill = 0;
            }
        }
    }

    /// <summary>Walks the tree of the current meta page and returns the database's revision.</summary>
    /// <exception cref="IntegrityException">The bytes are not a complete bbolt database with etcd's buckets.</exception>
    public BoltRevision Complete()
    {
        if (_pageSize == 0 || _blockFill != 0)
        {
            throw Corrupt($"it is {_bytes} bytes, not a whole number of pages");
        }

        var meta = _metas.Where(m => m is not null).MaxBy(m => m!.Value.TxId)
            ?? throw Corrupt("neither meta page is valid");
        var keyBucket = FindBucket(meta.Root, "key"u8) ?? throw Corrupt("it has no 'key' bucket (is it an etcd v3 database?)");
        var metaBucket = FindBucket(meta.Root, "meta"u8) ?? throw Corrupt("it has no 'meta' bucket (is it an etcd v3 database?)");

        var newestKey = NewestKeyRevision(keyBucket);
        var compacted = FinishedCompactRevision(metaBucket);
        var revision = Math.Max(1, Math.Max(newestKey, compacted));
        return new BoltRevision(revision, newestKey, compacted, _pageSize, meta.TxId);
    }

    private void OnBlock(ReadOnlySpan<byte> block)
    {
        for (var i = _captures.Count - 1; i >= 0; i--)
        {
            var capture = _captures[i];
            block.CopyTo(capture.Buffer.AsSpan(capture.Filled));
            capture.Filled += block.Length;
            if (capture.Filled == capture.Length)
            {
                // Pooled: most multi-page leaves hold values and are not kept; the few kept ones are copied.
                _captures.RemoveAt(i);
                Summarize(capture.PageId, capture.Buffer.AsSpan(0, capture.Length), null);
                ArrayPool<byte>.Shared.Return(capture.Buffer);
            }
        }

        var id = BinaryPrimitives.ReadInt64LittleEndian(block);
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(block[8..]);
        var overflow = BinaryPrimitives.ReadUInt32LittleEndian(block[12..]);
        if (id == _pageIndex)
        {
            if (flags == MetaPage && _pageIndex < 2)
            {
                _metas[_pageIndex] = BoltFormat.ReadMeta(block);
            }
            else if (flags is BranchPage or LeafPage)
            {
                var span = (overflow + 1L) * _pageSize;
                if (overflow == 0)
                {
                    Summarize(_pageIndex, block, null);
                }
                else if (span <= _maxCapturedPageBytes)
                {
                    var capture = new Capture(_pageIndex, ArrayPool<byte>.Shared.Rent((int)span), (int)span) { Filled = block.Length };
                    block.CopyTo(capture.Buffer);
                    _captures.Add(capture);
                }
            }
        }

        _pageIndex++;
    }

    /// <param name="owned">The page as an array this scanner may keep, or null to copy <paramref name="page"/> if kept.</param>
    private void Summarize(long pageId, ReadOnlySpan<byte> page, byte[]? owned)
    {
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(page[8..]);
        if (flags == BranchPage)
        {
            _branches[pageId] = owned ?? page.ToArray();
            return;
        }

        var elements = _elements;
        if (!TryReadLeaf(page, elements))
        {
            return; // stale or foreign bytes; the live tree never points here
        }

        var hasBucket = false;
        var hasCompactKey = false;
        foreach (var e in elements)
        {
            hasBucket |= (e.Flags & BucketLeafFlag) != 0;
            hasCompactKey |= page.Slice(e.KeyOffset, e.KeyLength).SequenceEqual(FinishedCompactRevKey);
        }

        if (hasBucket)
        {
            _bucketLeaves[pageId] = owned ??= page.ToArray();
        }

        if (hasCompactKey)
        {
            _metaLeaves[pageId] = owned ?? page.ToArray();
        }

        if (elements.Count == 0)
        {
            _leafIds.Add(pageId);
            _leafRevisions.Add(0);
        }
        else if (TryMainRevision(page.Slice(elements[^1].KeyOffset, elements[^1].KeyLength), out var rev))
        {
            _leafIds.Add(pageId);
            _leafRevisions.Add(rev);
        }
    }

    private BucketRef? FindBucket(long rootPage, ReadOnlySpan<byte> name)
    {
        var leaf = DescendTo(rootPage, name, _bucketLeaves);
        if (leaf is null || !TryReadLeaf(leaf, out var elements))
        {
            return null;
        }

        foreach (var e in elements)
        {
            if ((e.Flags & BucketLeafFlag) != 0 && leaf.AsSpan(e.KeyOffset, e.KeyLength).SequenceEqual(name))
            {
                var value = leaf.AsSpan(e.ValueOffset, e.ValueLength);
                if (value.Length < 16)
                {
                    throw Corrupt($"bucket '{System.Text.Encoding.ASCII.GetString(name)}' has a short header");
                }

                var root = BinaryPrimitives.ReadInt64LittleEndian(value);
                return new BucketRef(root, root == 0 ? value[16..].ToArray() : null);
            }
        }

        return null;
    }

    private long NewestKeyRevision(BucketRef bucket)
    {
        if (bucket.Inline is { } inline)
        {
            if (!TryReadLeaf(inline, out var elements))
            {
                throw Corrupt("the inline 'key' bucket does not parse");
            }

            return elements.Count == 0 ? 0 : MainRevisionOrThrow(inline.AsSpan(elements[^1].KeyOffset, elements[^1].KeyLength));
        }

        var page = bucket.Root;
        for (var depth = 0; _branches.TryGetValue(page, out var branch); depth++)
        {
            var count = BinaryPrimitives.ReadUInt16LittleEndian(branch.AsSpan(10));
            if (count == 0 || depth > 64)
            {
                throw Corrupt("the 'key' bucket has an empty or cyclic branch page");
            }

            page = BinaryPrimitives.ReadInt64LittleEndian(branch.AsSpan(PageHeaderSize + ((count - 1) * 16) + 8));
        }

        if (_leafRevisionIndex is null)
        {
            var ids = _leafIds.ToArray();
            var revs = _leafRevisions.ToArray();
            Array.Sort(ids, revs);
            _leafRevisionIndex = (ids, revs);
        }

        var at = Array.BinarySearch(_leafRevisionIndex.Value.Ids, page);
        return at >= 0 ? _leafRevisionIndex.Value.Revisions[at] : throw Corrupt($"the newest page of the 'key' bucket ({page}) is missing or unreadable");
    }

    private long FinishedCompactRevision(BucketRef bucket)
    {
        var leaf = bucket.Inline ?? DescendTo(bucket.Root, FinishedCompactRevKey, _metaLeaves);
        if (leaf is null || !TryReadLeaf(leaf, out var elements))
        {
            return 0; // never compacted
        }

        foreach (var e in elements)
        {
            if (leaf.AsSpan(e.KeyOffset, e.KeyLength).SequenceEqual(FinishedCompactRevKey))
            {
                return MainRevisionOrThrow(leaf.AsSpan(e.ValueOffset, e.ValueLength));
            }
        }

        return 0;
    }

    /// <summary>Follows branch pages from <paramref name="page"/> towards <paramref name="key"/>; the leaf reached, if kept.</summary>
    private byte[]? DescendTo(long page, ReadOnlySpan<byte> key, Dictionary<long, byte[]> leaves)
    {
        for (var depth = 0; depth < 64; depth++)
        {
            if (!_branches.TryGetValue(page, out var branch))
            {
                return leaves.GetValueOrDefault(page);
            }

            var count = BinaryPrimitives.ReadUInt16LittleEndian(branch.AsSpan(10));
            var child = -1L;
            for (var i = 0; i < count; i++)
            {
                var at = PageHeaderSize + (i * 16);
                var pos = (int)BinaryPrimitives.ReadUInt32LittleEndian(branch.AsSpan(at));
                var ksize = (int)BinaryPrimitives.ReadUInt32LittleEndian(branch.AsSpan(at + 4));
                if (at + pos + ksize > branch.Length)
                {
                    throw Corrupt($"branch page {page} points outside itself");
                }

                // bbolt descends into the last child whose first key is <= the key sought (or the first child).
                if (i > 0 && branch.AsSpan(at + pos, ksize).SequenceCompareTo(key) > 0)
                {
                    break;
                }

                child = BinaryPrimitives.ReadInt64LittleEndian(branch.AsSpan(at + 8));
            }

            if (child < 0)
            {
                throw Corrupt($"branch page {page} is empty");
            }

            page = child;
        }

        throw Corrupt("the tree is deeper than 64 levels");
    }

    private static bool TryReadLeaf(ReadOnlySpan<byte> page, out List<LeafElement> elements)
    {
        elements = [];
        return TryReadLeaf(page, elements);
    }

    /// <summary>Reads a leaf page's elements into <paramref name="elements"/> (cleared first).</summary>
    private static bool TryReadLeaf(ReadOnlySpan<byte> page, List<LeafElement> elements)
    {
        elements.Clear();
        var count = BinaryPrimitives.ReadUInt16LittleEndian(page[10..]);
        if (PageHeaderSize + (count * 16L) > page.Length)
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            var at = PageHeaderSize + (i * 16);
            var flags = BinaryPrimitives.ReadUInt32LittleEndian(page[at..]);
            var pos = BinaryPrimitives.ReadUInt32LittleEndian(page[(at + 4)..]);
            var ksize = BinaryPrimitives.ReadUInt32LittleEndian(page[(at + 8)..]);
            var vsize = BinaryPrimitives.ReadUInt32LittleEndian(page[(at + 12)..]);
            var keyOffset = at + (long)pos;
            if (keyOffset + ksize + vsize > page.Length)
            {
                return false;
            }

            elements.Add(new LeafElement(flags, (int)keyOffset, (int)ksize, (int)(keyOffset + ksize), (int)vsize));
        }

        return true;
    }

    private static bool TryMainRevision(ReadOnlySpan<byte> key, out long main)
    {
        main = 0;
        if (key.Length is not (17 or 18) || key[8] != (byte)'_' || (key.Length == 18 && key[17] != (byte)'t'))
        {
            return false;
        }

        main = BinaryPrimitives.ReadInt64BigEndian(key);
        return main >= 0;
    }

    private static long MainRevisionOrThrow(ReadOnlySpan<byte> key) =>
        TryMainRevision(key, out var main) ? main : throw Corrupt("a revision key is malformed");

    private static int ReadPageSize(byte[] firstBytes)
    {
        var magic = BinaryPrimitives.ReadUInt32LittleEndian(firstBytes.AsSpan(PageHeaderSize));
        var pageSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(firstBytes.AsSpan(PageHeaderSize + 8));
        if (magic != Magic)
        {
            throw Corrupt("it does not start with a bbolt meta page");
        }

        if (pageSize < 512 || pageSize > 1 << 20 || (pageSize & (pageSize - 1)) != 0)
        {
            throw Corrupt($"its page size {pageSize} is not plausible");
        }

        return pageSize;
    }

    private static IntegrityException Corrupt(string why) =>
        new($"the snapshot is not a readable etcd database: {why}", "take the snapshot again; if it repeats, check the etcd member's data");

    private readonly record struct LeafElement(uint Flags, int KeyOffset, int KeyLength, int ValueOffset, int ValueLength);

    private sealed record BucketRef(long Root, byte[]? Inline);

    private sealed class Capture(long pageId, byte[] buffer, int length)
    {
        public long PageId { get; } = pageId;
        public byte[] Buffer { get; } = buffer;
        public int Length { get; } = length;
        public int Filled { get; set; }
    }
}
