using System.Globalization;
using System.Numerics;
using System.Text;
using Google.Protobuf;
using Lifeboat.Etcd.Init;

namespace Lifeboat.Etcd.Restore;

/// <summary>
/// Writes the raft side of a restored etcd member, the files <c>etcdctl snapshot restore</c> writes beside the database
/// (etcd 3.4, clientv3/snapshot/v3_snapshot.go <c>saveWALAndSnap</c>): a write-ahead log that starts the requested
/// membership, and the raft snapshot holding it. Byte for byte what etcdctl writes for the same flags (a test compares
/// them), so etcd starts on the directory exactly as on one etcdctl laid out.
/// </summary>
/// <remarks>
/// <para>
/// The membership is bootstrapped as raft does for a new cluster: one <c>ConfChangeAddNode</c> entry per member (term
/// 1, indexes 1..n, in member-id order, the member's JSON as context), a hard state (term 1, vote the first member,
/// commit n), and a raft snapshot at index n holding etcd's v2 store with each member's <c>raftAttributes</c>. The
/// database's <c>consistent_index</c> must be n too (<see cref="ConsistentIndex"/>), so that etcd applies nothing twice.
/// </para>
/// <para>
/// Written by hand, not with generated protobuf classes: etcd marshals these messages with gogoproto's non-nullable
/// proto2 fields, which are emitted even when zero; proto3 code would drop them. Google.Protobuf's
/// <see cref="CodedOutputStream"/> writes the wire format; this class only decides which fields, in what order. The v2
/// store is JSON as Go's encoding/json writes it (map keys sorted, HTML characters escaped); no .NET serializer
/// escapes the same way.
/// </para>
/// </remarks>
public static class MemberLayout
{
    /// <summary>etcd's WAL segment size (wal.SegmentSizeBytes): every segment is preallocated to it.</summary>
    public const long WalSegmentBytes = 64L * 1000 * 1000;

    /// <summary>The v2 store keeps its last 1000 events (v2store's event history); a membership that large is not a raft cluster.</summary>
    private const int EventHistory = 1000;

    private const int MetadataRecord = 1;
    private const int EntryRecord = 2;
    private const int StateRecord = 3;
    private const int CrcRecord = 4;
    private const int SnapshotRecord = 5;

    /// <summary>The consistent index the restored database must hold: the raft index the membership's entries end at.</summary>
    public static long ConsistentIndex(MemberFlags flags)
    {
        ArgumentNullException.ThrowIfNull(flags);
        return flags.Members().Count;
    }

    /// <summary>
    /// Writes <c>member/wal/0000000000000000-0000000000000000.wal</c> and <c>member/snap/0000000000000001-&lt;n&gt;.snap</c>
    /// under <paramref name="dataDir"/>, synced to disk. The database (<c>member/snap/db</c>) is the caller's.
    /// </summary>
    /// <returns>This member's id and the cluster's, as etcd derives them.</returns>
    public static (ulong Member, ulong Cluster) Write(string dataDir, MemberFlags flags)
    {
        ArgumentNullException.ThrowIfNull(flags);
        var members = flags.Members()
            .Select(m => new Member(MemberIdentity.MemberId(m.Value, flags.InitialClusterToken), m.Key, [.. m.Value.Order(StringComparer.Ordinal)]))
            .OrderBy(m => m.Id)
            .ToList();
        if (members.Count > EventHistory)
        {
            throw new RestoreRefusedException($"--initial-cluster names {members.Count} members", "a raft cluster has a handful of members; name each once");
        }

        var own = members.First(m => m.Name == flags.Name).Id;
        var cluster = MemberIdentity.ClusterId(members.Select(m => m.Id));
        var commit = (ulong)members.Count;
        var member = Path.Combine(dataDir, "member");
        var walDir = Path.Combine(member, "wal");
        var snapDir = Path.Combine(member, "snap");
        CreatePrivateDirectory(member);
        CreatePrivateDirectory(walDir);
        CreatePrivateDirectory(snapDir);

        var snapshot = Message(w =>
        {
            w.Bytes(1, Encoding.UTF8.GetBytes(V2Store(members)));
            w.Bytes(2, Message(metadata =>
            {
                metadata.Bytes(1, Message(confState =>
                {
                    foreach (var m in members)
                    {
                        confState.Varint(1, m.Id);
                    }

                    confState.Varint(5, 0); // auto_leave
                }));
                metadata.Varint(2, commit);
                metadata.Varint(3, 1);
            }));
        });
        var snapFile = Message(w =>
        {
            w.Varint(1, Crc32C.Update(0, snapshot));
            w.Bytes(2, snapshot);
        });
        WriteSynced(Path.Combine(snapDir, string.Create(CultureInfo.InvariantCulture, $"{1:x16}-{commit:x16}.snap")), snapFile, preallocate: 0);

        var wal = new WalEncoder();
        wal.Record(CrcRecord, null);
        wal.Record(MetadataRecord, Message(w =>
        {
            w.Varint(1, own);
            w.Varint(2, cluster);
        }));
        wal.Record(SnapshotRecord, Snapshot(0, 0));
        for (var i = 0; i < members.Count; i++)
        {
            var confChange = Message(w =>
            {
                w.Varint(1, 0); // ID
                w.Varint(2, 0); // ConfChangeAddNode
                w.Varint(3, members[i].Id);
                w.Bytes(4, Encoding.UTF8.GetBytes(MemberJson(members[i])));
            });
            var index = (ulong)i + 1;
            wal.Record(EntryRecord, Message(w =>
            {
                w.Varint(1, 1); // EntryConfChange
                w.Varint(2, 1); // term
                w.Varint(3, index);
                w.Bytes(4, confChange);
            }));
        }

        wal.Record(StateRecord, Message(w =>
        {
            w.Varint(1, 1); // term
            w.Varint(2, members[0].Id); // vote
            w.Varint(3, commit);
        }));
        wal.Record(SnapshotRecord, Snapshot(commit, 1));
        WriteSynced(Path.Combine(walDir, $"{0:x16}-{0:x16}.wal"), wal.ToArray(), WalSegmentBytes);
        Core.IO.FileSync.Directory(walDir);
        Core.IO.FileSync.Directory(snapDir);
        Core.IO.FileSync.Directory(member);
        return (own, cluster);
    }

    /// <summary>A <c>walpb.Snapshot</c> of etcd 3.4: index and term.</summary>
    private static byte[] Snapshot(ulong index, ulong term) => Message(w =>
    {
        w.Varint(1, index);
        w.Varint(2, term);
    });

    /// <summary>A member as etcd marshals it into the conf-change context: id, peer URLs, name (client URLs are empty, so omitted).</summary>
    private static string MemberJson(Member m) =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"id\":{m.Id},\"peerURLs\":{UrlArray(m)},\"name\":{GoJson.Quote(m.Name)}}}");

    private static string RaftAttributesJson(Member m) => $"{{\"peerURLs\":{UrlArray(m)}}}";

    private static string UrlArray(Member m) => "[" + string.Join(',', m.PeerUrls.Select(GoJson.Quote)) + "]";

    /// <summary>
    /// etcd's v2 store as <c>store.Save</c> marshals it after the restore created <c>/0/members/&lt;id&gt;/raftAttributes</c>
    /// for each member, in member-id order (store index i for the i-th): the node tree, the event history of those
    /// creates, the statistics and the store version.
    /// </summary>
    private static string V2Store(IReadOnlyList<Member> members)
    {
        const string Zero = "\"ExpireTime\":\"0001-01-01T00:00:00Z\"";
        string Dir(string path, int index, string children) =>
            string.Create(CultureInfo.InvariantCulture, $"{{\"Path\":{GoJson.Quote(path)},\"CreatedIndex\":{index},\"ModifiedIndex\":{index},{Zero},\"Value\":\"\",\"Children\":{{{children}}}}}");
        string Leaf(string path, int index, string value) =>
            string.Create(CultureInfo.InvariantCulture, $"{{\"Path\":{GoJson.Quote(path)},\"CreatedIndex\":{index},\"ModifiedIndex\":{index},{Zero},\"Value\":{GoJson.Quote(value)},\"Children\":null}}");

        var created = members.Select((m, i) => (Member: m, Index: i + 1, Hex: MemberIdentity.Format(m.Id))).ToList();
        // Go sorts a map's keys as strings when it marshals one; ids print without leading zeros, so this is not id order.
        var memberNodes = string.Join(',', created.OrderBy(c => c.Hex, StringComparer.Ordinal).Select(c =>
        {
            var path = $"/0/members/{c.Hex}";
            return $"{GoJson.Quote(c.Hex)}:" + Dir(path, c.Index, "\"raftAttributes\":" + Leaf($"{path}/raftAttributes", c.Index, RaftAttributesJson(c.Member)));
        }));
        var root = Dir("/", 0, "\"0\":" + Dir("/0", 0, "\"members\":" + Dir("/0/members", 1, memberNodes)) + ",\"1\":" + Dir("/1", 0, ""));
        var events = created.Select(c => string.Create(CultureInfo.InvariantCulture,
                $"{{\"action\":\"create\",\"node\":{{\"key\":{GoJson.Quote($"/0/members/{c.Hex}/raftAttributes")},\"value\":{GoJson.Quote(RaftAttributesJson(c.Member))},\"modifiedIndex\":{c.Index},\"createdIndex\":{c.Index}}}}}"))
            .Concat(Enumerable.Repeat("null", EventHistory - created.Count));
        var n = created.Count;
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"Root\":{root},\"WatcherHub\":{{\"EventHistory\":{{\"Queue\":{{\"Events\":[{string.Join(',', events)}],\"Size\":{n},\"Front\":0,\"Back\":{n % EventHistory},\"Capacity\":{EventHistory}}},\"StartIndex\":1,\"LastIndex\":{n}}}}},\"CurrentIndex\":{n},")
            + string.Create(CultureInfo.InvariantCulture,
                $"\"Stats\":{{\"getsSuccess\":0,\"getsFail\":0,\"setsSuccess\":0,\"setsFail\":0,\"deleteSuccess\":0,\"deleteFail\":0,\"updateSuccess\":0,\"updateFail\":0,\"createSuccess\":{n},\"createFail\":0,\"compareAndSwapSuccess\":0,\"compareAndSwapFail\":0,\"compareAndDeleteSuccess\":0,\"compareAndDeleteFail\":0,\"expireCount\":0,\"watchers\":0}},\"CurrentVersion\":2}}");
    }

    private static byte[] Message(Action<FieldWriter> fields)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        fields(new FieldWriter(output));
        output.Flush();
        return buffer.ToArray();
    }

    /// <summary>Where etcd keeps a member's database: <c>member/snap/db</c>.</summary>
    public static string DatabasePath(string dataDir) => Path.Combine(dataDir, "member", "snap", "db");

    /// <summary>
    /// Puts the database in place (moving <paramref name="source"/> there, a rename on one file system; null when it
    /// was written there) and makes it readable by its owner only, as etcd keeps it: it holds every Secret.
    /// </summary>
    public static void PlaceDatabase(string dataDir, string? source)
    {
        var path = DatabasePath(dataDir);
        if (source is not null)
        {
            File.Move(source, path);
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    /// <summary>A directory only its owner can read, as etcd creates its data directory (0700).</summary>
    internal static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static void WriteSynced(string path, byte[] bytes, long preallocate)
    {
        using (var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            PreallocationSize = preallocate,
        }))
        {
            file.Write(bytes);
            if (preallocate > bytes.Length)
            {
                // etcd preallocates every segment to its full size; the records end at the first zero frame.
                file.SetLength(preallocate);
            }

            file.Flush(flushToDisk: true);
        }

        if (preallocate > 0 && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite); // etcd's private file mode for the WAL
        }
    }

    private sealed record Member(ulong Id, string Name, IReadOnlyList<string> PeerUrls);

    /// <summary>The fields of one message, in the order written.</summary>
    private readonly struct FieldWriter(CodedOutputStream output)
    {
        public void Varint(int field, ulong value)
        {
            output.WriteTag(field, WireFormat.WireType.Varint);
            output.WriteUInt64(value);
        }

        public void Bytes(int field, byte[] value)
        {
            output.WriteTag(field, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(value));
        }
    }

    /// <summary>
    /// etcd's WAL framing (wal/encoder.go): each <c>walpb.Record</c> of type, CRC and data, preceded by an 8-byte
    /// little-endian length whose top byte, when the record is padded to 8 bytes, is 0x80 | the padding. The CRC is the
    /// CRC-32C of every record's data so far, chained from the segment's start.
    /// </summary>
    private sealed class WalEncoder
    {
        private readonly List<byte> _bytes = [];
        private uint _crc;

        public void Record(int type, byte[]? data)
        {
            if (data is not null)
            {
                _crc = Crc32C.Update(_crc, data);
            }

            var crc = _crc;
            var record = Message(w =>
            {
                w.Varint(1, (ulong)type);
                w.Varint(2, crc);
                if (data is not null)
                {
                    w.Bytes(3, data);
                }
            });
            var padding = (8 - (record.Length % 8)) % 8;
            var length = (ulong)record.Length;
            if (padding != 0)
            {
                length |= (0x80UL | (ulong)padding) << 56;
            }

            var frame = new byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(frame, length);
            _bytes.AddRange(frame);
            _bytes.AddRange(record);
            _bytes.AddRange(new byte[padding]);
        }

        public byte[] ToArray() => [.. _bytes];
    }
}

/// <summary>CRC-32C (Castagnoli) as Go's <c>crc32.Update</c> computes it: chainable, pre- and post-inverted.</summary>
internal static class Crc32C
{
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        var state = ~crc;
        foreach (var b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }

        return ~state;
    }
}

/// <summary>Strings as Go's encoding/json writes them (HTML characters and U+2028/U+2029 escaped).</summary>
internal static class GoJson
{
    public static string Quote(string value)
    {
        var s = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"' or '\\':
                    s.Append('\\').Append(c);
                    break;
                case '\n':
                    s.Append("\\n");
                    break;
                case '\r':
                    s.Append("\\r");
                    break;
                case '\t':
                    s.Append("\\t");
                    break;
                case < ' ' or '<' or '>' or '&' or '\u2028' or '\u2029':
                    s.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    s.Append(c);
                    break;
            }
        }

        return s.Append('"').ToString();
    }
}
