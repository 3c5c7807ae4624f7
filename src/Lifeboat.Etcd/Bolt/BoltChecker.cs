using System.Buffers.Binary;
using System.Collections;
using Google.Protobuf;
using Lifeboat.Etcd.Protocol;
using Microsoft.Win32.SafeHandles;

namespace Lifeboat.Etcd.Bolt;

/// <summary>
/// Reads a whole bbolt database file the way etcd will use it, and says what is wrong with it: both meta pages, every
/// page reachable from the current one (branch and leaf headers, element bounds, key order, overflow runs, no page
/// reached twice or past the high-water mark), the freelist (in bounds, sorted, not naming a page in use), and every
/// value of etcd's <c>key</c> bucket decoded as an <c>mvccpb.KeyValue</c> whose revisions agree with its key.
/// </summary>
/// <remarks>
/// Written here, not taken from a library, because no .NET bbolt reader exists; the format is bbolt's (page.go,
/// node.go, freelist.go) and etcd's (mvcc/revision.go, kvstore.go). The file is opened read-only and never changed.
/// What no structural check can see: bytes changed inside a value's payload that leave the protobuf and revisions
/// intact. bbolt keeps no page checksums, so neither can etcd.
/// </remarks>
public static class BoltChecker
{
    private const ushort BranchFlag = BoltFormat.BranchPage;
    private const ushort LeafFlag = BoltFormat.LeafPage;
    private const ushort MetaFlag = BoltFormat.MetaPage;
    private const ushort FreelistFlag = BoltFormat.FreelistPage;
    private const uint BucketLeafFlag = BoltFormat.BucketLeafFlag;
    private const int HeaderSize = BoltFormat.PageHeaderSize;
    private const int BranchElementSize = 16;
    private const int LeafElementSize = 16;
    private const ulong NoFreelist = ulong.MaxValue;

    /// <summary>What is wrong with the database at <paramref name="path"/>, or null when every check passed.</summary>
    public static string? Check(string path, CancellationToken cancellationToken = default)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        try
        {
            new Walk(file, RandomAccess.GetLength(file), cancellationToken).Run();
            return null;
        }
        catch (DamageException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>The leaf pages of etcd's key bucket, in key order (for tests that damage one on purpose).</summary>
    internal static IReadOnlyList<long> KeyBucketLeaves(string path)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var walk = new Walk(file, RandomAccess.GetLength(file), default) { KeyLeaves = [] };
        walk.Run();
        return walk.KeyLeaves;
    }

    private sealed class DamageException(string message) : Exception(message);

    private sealed class Walk(SafeFileHandle file, long length, CancellationToken cancellationToken)
    {
        public List<long>? KeyLeaves { get; init; }

        private int _pageSize;
        private long _highWater;
        private BitArray _used = new(0);
        private long _visited;

        public void Run()
        {
            var first = new byte[4096];
            if (length < 2 * 1024 || RandomAccess.Read(file, first, 0) < 64)
            {
                throw new DamageException($"it is {length} bytes, too short for a bbolt database");
            }

            var meta = BestMeta(first);
            if (meta.HighWater * _pageSize > length)
            {
                throw new DamageException($"its meta page says {meta.HighWater} pages, but the file holds {length / _pageSize}");
            }

            _highWater = meta.HighWater;
            _used = new BitArray(checked((int)_highWater));
            _used[0] = _used[1] = true;
            Bucket(meta.Root, null, "root", keyBucket: false);
            Freelist(meta.Freelist);
        }

        private BoltFormat.Meta BestMeta(byte[] first)
        {
            _pageSize = BoltFormat.PageSizeOrDefault(first);
            var metas = new List<BoltFormat.Meta>();
            for (var id = 0; id < 2; id++)
            {
                var page = ReadPages(id, 1);
                if (ReadMeta(page) is { } m)
                {
                    metas.Add(m);
                }
            }

            return metas.Count == 0 ? throw new DamageException("neither meta page is valid (magic, version or checksum)") : metas.MaxBy(m => m.TxId);
        }

        /// <summary>A valid meta record that is also flagged a meta page and agrees on the page size, or null.</summary>
        private BoltFormat.Meta? ReadMeta(byte[] page) =>
            (BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(8)) & MetaFlag) != 0 && BoltFormat.ReadMeta(page) is { } meta && meta.PageSize == _pageSize
                ? meta
                : null;

        /// <summary>Reads page <paramref name="id"/> and the <paramref name="count"/> - 1 overflow pages after it.</summary>
        private byte[] ReadPages(long id, long count)
        {
            var bytes = new byte[checked((int)(count * _pageSize))];
            var read = RandomAccess.Read(file, bytes, id * _pageSize);
            return read == bytes.Length ? bytes : throw new DamageException($"page {id} lies past the end of the file");
        }

        /// <summary>Reads a page the tree points to, checking its header and marking it (and its overflow) in use.</summary>
        private byte[] Page(long id, string where)
        {
            if (id < 2 || id >= _highWater)
            {
                throw new DamageException($"{where} points to page {id}, outside the database (2..{_highWater - 1})");
            }

            var head = ReadPages(id, 1);
            var headerId = BinaryPrimitives.ReadInt64LittleEndian(head);
            var overflow = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(12));
            if (headerId != id)
            {
                throw new DamageException($"page {id} ({where}) has the header of page {headerId}: it was overwritten");
            }

            if (id + overflow >= _highWater)
            {
                throw new DamageException($"page {id} ({where}) runs {overflow} pages past the end of the database");
            }

            for (var p = id; p <= id + overflow; p++)
            {
                if (_used[(int)p])
                {
                    throw new DamageException($"page {p} ({where}) is reached twice: the tree is not a tree");
                }

                _used[(int)p] = true;
            }

            if ((++_visited & 1023) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            return overflow == 0 ? head : ReadPages(id, overflow + 1L);
        }

        /// <summary>Walks a bucket: its root page, or the inline page held in its header's value.</summary>
        private void Bucket(long root, byte[]? inline, string name, bool keyBucket)
        {
            if (root == 0)
            {
                if (inline is null)
                {
                    throw new DamageException($"bucket '{name}' has neither a root page nor an inline page");
                }

                Node(inline, $"bucket '{name}' (inline)", name, keyBucket, null, null);
                return;
            }

            Node(Page(root, $"bucket '{name}'"), $"bucket '{name}'", name, keyBucket, null, null);
        }

        /// <param name="low">The branch key that points here: every key of this page is at least it.</param>
        /// <param name="high">The next branch key: every key of this page is below it.</param>
        private void Node(byte[] page, string where, string bucket, bool keyBucket, byte[]? low, byte[]? high)
        {
            var flags = BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(8));
            int count = BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(10));
            var isBranch = (flags & BranchFlag) != 0;
            var isLeaf = (flags & LeafFlag) != 0;
            if (isBranch == isLeaf)
            {
                throw new DamageException($"{where}: page {BinaryPrimitives.ReadInt64LittleEndian(page)} is neither a branch nor a leaf page (flags 0x{flags:x})");
            }

            if (isLeaf && keyBucket && page.Length >= _pageSize)
            {
                KeyLeaves?.Add(BinaryPrimitives.ReadInt64LittleEndian(page));
            }

            var elementSize = isBranch ? BranchElementSize : LeafElementSize;
            if (HeaderSize + ((long)count * elementSize) > page.Length || (count == 0 && (isBranch || low is not null)))
            {
                throw new DamageException($"{where}: page {BinaryPrimitives.ReadInt64LittleEndian(page)} claims {count} elements, more than it can hold");
            }

            ReadOnlySpan<byte> previous = low;
            for (var i = 0; i < count; i++)
            {
                var at = HeaderSize + (i * elementSize);
                var e = page.AsSpan(at, elementSize);
                long keyStart, keySize, valueSize = 0;
                uint elementFlags = 0;
                if (isBranch)
                {
                    keyStart = at + BinaryPrimitives.ReadUInt32LittleEndian(e);
                    keySize = BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
                }
                else
                {
                    elementFlags = BinaryPrimitives.ReadUInt32LittleEndian(e);
                    keyStart = at + BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
                    keySize = BinaryPrimitives.ReadUInt32LittleEndian(e[8..]);
                    valueSize = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
                }

                if (keyStart < HeaderSize + ((long)count * elementSize) || keyStart + keySize + valueSize > page.Length || (elementFlags & ~BucketLeafFlag) != 0)
                {
                    throw new DamageException($"{where}: element {i} of page {BinaryPrimitives.ReadInt64LittleEndian(page)} lies outside its page (a damaged element header)");
                }

                var key = page.AsSpan((int)keyStart, (int)keySize);
                if ((i > 0 || low is not null) && key.SequenceCompareTo(previous) < (i == 0 ? 0 : 1)
                    || (high is not null && key.SequenceCompareTo(high) >= 0))
                {
                    throw new DamageException($"{where}: the keys of page {BinaryPrimitives.ReadInt64LittleEndian(page)} are out of order");
                }

                previous = key;
                if (isBranch)
                {
                    var child = BinaryPrimitives.ReadInt64LittleEndian(e[8..]);
                    byte[]? next = null;
                    if (i + 1 < count)
                    {
                        var ne = page.AsSpan(HeaderSize + ((i + 1) * elementSize), elementSize);
                        var nextStart = HeaderSize + ((i + 1) * elementSize) + (int)BinaryPrimitives.ReadUInt32LittleEndian(ne);
                        var nextSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(ne[4..]);
                        next = nextStart + nextSize <= page.Length ? page.AsSpan(nextStart, nextSize).ToArray() : null;
                    }

                    Node(Page(child, where), where, bucket, keyBucket, key.ToArray(), next ?? high);
                    continue;
                }

                var value = page.AsSpan((int)(keyStart + keySize), (int)valueSize);
                if ((elementFlags & BucketLeafFlag) != 0)
                {
                    if (value.Length < 16)
                    {
                        throw new DamageException($"{where}: bucket '{System.Text.Encoding.UTF8.GetString(key)}' has a {value.Length}-byte header");
                    }

                    var name = System.Text.Encoding.UTF8.GetString(key);
                    var root = BinaryPrimitives.ReadInt64LittleEndian(value);
                    Bucket(root, root == 0 ? value[16..].ToArray() : null, name, bucket == "root" && name == "key");
                }
                else if (keyBucket)
                {
                    KeyValueEntry(key, value, where);
                }
            }
        }

        /// <summary>
        /// An entry of etcd's key bucket: the key is the revision (8-byte main, '_', 8-byte sub, and 't' for a
        /// tombstone), the value an mvccpb.KeyValue written at that revision.
        /// </summary>
        private static void KeyValueEntry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, string where)
        {
            if (key.Length is not (17 or 18) || key[8] != (byte)'_' || (key.Length == 18 && key[17] != (byte)'t'))
            {
                throw new DamageException($"{where}: a key of etcd's key bucket is not a revision ({key.Length} bytes)");
            }

            var main = BinaryPrimitives.ReadInt64BigEndian(key);
            KeyValue kv;
            try
            {
                kv = KeyValue.Parser.ParseFrom(value);
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new DamageException($"{where}: the value at revision {main} does not decode ({ex.Message.TrimEnd('.')})");
            }

            var tombstone = key.Length == 18;
            if (kv.Key.IsEmpty || main < 1
                || (!tombstone && (kv.ModRevision != main || kv.CreateRevision < 1 || kv.CreateRevision > main || kv.Version < 1 || kv.Version > main)))
            {
                throw new DamageException($"{where}: the value at revision {main} does not agree with its key (mod {kv.ModRevision}, create {kv.CreateRevision}, version {kv.Version})");
            }
        }

        private void Freelist(ulong id)
        {
            if (id == NoFreelist)
            {
                return; // etcd may run bbolt without a synced freelist; bbolt rebuilds it
            }

            var page = Page((long)id, "the freelist");
            if ((BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(8)) & FreelistFlag) == 0)
            {
                throw new DamageException($"the freelist page {id} is not a freelist page");
            }

            long count = BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(10));
            var start = HeaderSize;
            if (count == 0xFFFF)
            {
                count = BinaryPrimitives.ReadInt64LittleEndian(page.AsSpan(HeaderSize));
                start += 8;
            }

            if (count < 0 || start + (count * 8) > page.Length)
            {
                throw new DamageException($"the freelist claims {count} pages, more than its page holds");
            }

            long last = 1;
            for (var i = 0; i < count; i++)
            {
                var free = BinaryPrimitives.ReadInt64LittleEndian(page.AsSpan(start + (i * 8)));
                if (free <= last || free >= _highWater)
                {
                    throw new DamageException($"the freelist names page {free}, out of order or outside the database");
                }

                if (_used[(int)free])
                {
                    throw new DamageException($"the freelist names page {free}, which the tree uses");
                }

                last = free;
            }
        }
    }
}
