using System.Buffers.Binary;
using Google.Protobuf;
using Lifeboat.Etcd.Bolt;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Etcd.Deltas.Format;
using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Restore;

/// <summary>
/// Writes the database a restore ends with, in one streaming pass and without an etcd: the full snapshot's buckets
/// copied as they are, and every delta revision up to the target appended to etcd's <c>key</c> bucket exactly as etcd
/// would have stored it. Memory holds a page or two and the leases the deltas used, never the database or the chain.
/// </summary>
/// <remarks>
/// <para>
/// What etcd 3.4 writes for a revision (mvcc/kvstore_txn.go), and so what this writes: for the change at position
/// <c>sub</c> of revision <c>main</c>, the key <c>main</c> (8 bytes, big-endian), <c>_</c>, <c>sub</c> (8 bytes), plus
/// <c>t</c> for a delete; the value an <c>mvccpb.KeyValue</c> — for a put the key, value, create revision, mod
/// revision (= main), version and lease the source had (the watch reports them as stored), for a delete the key alone.
/// Revision keys sort after every key of the snapshot, so this is an append.
/// </para>
/// <para>
/// Leases (the <c>lease</c> bucket, key the 8-byte big-endian id, value a <c>leasepb.Lease</c> of id and TTL): the
/// snapshot's, plus each lease a replayed put used that the snapshot does not hold, with the TTL it was granted
/// (recorded in the delta; 3600 s when the source had already lost it). A lease revoked in the source after the
/// snapshot stays until its TTL runs out, as with replay through etcd: its keys' deletions are in the deltas, and
/// etcd restarts every lease's TTL when it starts anyway. <c>meta</c> (consistent index, compaction marks), the
/// membership, alarm and auth buckets are copied as etcdctl 3.4's restore leaves them, with <c>meta</c>'s consistent
/// index set to the new member's (<see cref="MemberLayout"/> writes the membership itself).
/// </para>
/// </remarks>
public static class RestoredDatabase
{
    private const string KeyBucket = "key";
    private const string LeaseBucket = "lease";
    private const string MetaBucket = "meta";
    private const int ProgressEvery = 4096;

    private static ReadOnlySpan<byte> ConsistentIndexKey => "consistent_index"u8;

    /// <summary>Writes <paramref name="output"/> from the full snapshot's database and the records after it.</summary>
    /// <param name="records">The plan's delta records, in order (verified beforehand); they may start at or before <paramref name="fromRevision"/>.</param>
    /// <param name="fromRevision">The revision the full snapshot holds.</param>
    /// <param name="consistentIndex">
    /// The raft index the restored member's log starts after (<see cref="MemberLayout.ConsistentIndex"/>), written as
    /// <c>meta</c>'s <c>consistent_index</c>; null keeps the snapshot's (a compacted snapshot is no member's yet).
    /// </param>
    /// <returns>The revision reached and the revisions and changes appended.</returns>
    /// <exception cref="ReplayDivergedException">The snapshot is not at <paramref name="fromRevision"/>, or the records jump.</exception>
    public static async Task<(long Revision, long Revisions, long Changes)> WriteAsync(string fullDb, string output, IAsyncEnumerable<RevisionRecord> records,
        long fromRevision, long stopAtRevision, DateTimeOffset? stopAtTime, long? consistentIndex, IProgress<ReplayProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        using var reader = new BoltReader(fullDb);
        await using var file = new FileStream(output, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        using var writer = new BoltWriter(new Core.IO.WritebackStream(file), reader.PageSize);
        var compacted = CompactionMark(reader);
        var current = fromRevision;
        long revisions = 0;
        long changes = 0;
        long? total = stopAtRevision == long.MaxValue ? null : stopAtRevision - fromRevision;
        var stopMicros = stopAtTime?.ToUnixTimeMilliseconds() * 1000;
        var grantedTtls = new Dictionary<long, long>();
        var usedLeases = new HashSet<long>();
        var buckets = reader.Buckets.Union([KeyBucket, LeaseBucket, MetaBucket]).Order(StringComparer.Ordinal).ToList();
        foreach (var bucket in buckets)
        {
            writer.BeginBucket(System.Text.Encoding.UTF8.GetBytes(bucket));
            if (bucket == LeaseBucket)
            {
                WriteLeases(writer, reader, usedLeases, grantedTtls);
                writer.EndBucket();
                continue;
            }

            if (bucket == MetaBucket && consistentIndex is { } index)
            {
                WriteMeta(writer, reader, index);
                writer.EndBucket();
                continue;
            }

            long newestKey = 0;
            foreach (var (key, value) in reader.Entries(bucket))
            {
                writer.Add(key.Span, value.Span);
                newestKey = bucket == KeyBucket ? BinaryPrimitives.ReadInt64BigEndian(key.Span) : 0;
            }

            if (bucket == KeyBucket)
            {
                // What etcd will report for the snapshot's database: its newest revision key, or its compaction mark
                // if later. Known once the key bucket is copied (keys sort by revision), before anything is appended.
                var held = Math.Max(1, Math.Max(newestKey, compacted));
                if (held != fromRevision)
                {
                    throw new ReplayDivergedException($"the full snapshot's database holds revision {held}, not the {fromRevision} the chain says");
                }

                var key = new byte[18];
                await foreach (var record in records.WithCancellation(cancellationToken))
                {
                    foreach (var lease in record.NewLeases)
                    {
                        grantedTtls[lease.Id] = lease.GrantedTtl;
                    }

                    if (record.Revision <= current)
                    {
                        continue; // the full snapshot already holds it
                    }

                    if (record.Revision > stopAtRevision || (stopMicros is { } stop && record.ObservedUnixMicros > stop))
                    {
                        break;
                    }

                    if (record.Revision != current + 1)
                    {
                        throw new ReplayDivergedException($"the deltas jump from revision {current} to {record.Revision}");
                    }

                    Append(writer, key, record, usedLeases);
                    current = record.Revision;
                    revisions++;
                    changes += record.Changes.Count;
                    if (revisions % ProgressEvery == 0)
                    {
                        progress?.Report(new ReplayProgress(revisions, changes, total));
                    }
                }
            }

            writer.EndBucket();
        }

        writer.Complete();
        await file.FlushAsync(cancellationToken);
        file.Flush(flushToDisk: true);
        progress?.Report(new ReplayProgress(revisions, changes, total));
        return (current, revisions, changes);
    }

    /// <summary>
    /// The snapshot's leases, merged in id order with those the replayed puts used that it lacks (lease ids are
    /// positive, so big-endian byte order is numeric order).
    /// </summary>
    private static void WriteLeases(BoltWriter writer, BoltReader reader, HashSet<long> used, Dictionary<long, long> grantedTtls)
    {
        var missing = new Queue<long>(used.Order());
        void WriteMissingBefore(long id)
        {
            while (missing.Count > 0 && missing.Peek() <= id)
            {
                var lease = missing.Dequeue();
                if (lease == id)
                {
                    continue; // the snapshot holds it
                }

                var ttl = grantedTtls.TryGetValue(lease, out var t) && t > 0 ? t : DeltaOptions.UnknownLeaseTtlSeconds;
                var key = new byte[8];
                BinaryPrimitives.WriteInt64BigEndian(key, lease);
                writer.Add(key, LeaseValue(lease, ttl));
            }
        }

        foreach (var (key, value) in reader.Entries(LeaseBucket))
        {
            WriteMissingBefore(BinaryPrimitives.ReadInt64BigEndian(key.Span));
            writer.Add(key.Span, value.Span);
        }

        WriteMissingBefore(long.MaxValue);
    }

    /// <summary>
    /// Sets the consistent index of a database in place (etcd writes it as an 8-byte big-endian value), as
    /// <c>etcdctl snapshot restore</c> does to the database it lays out: a full snapshot restored without deltas is
    /// then used as it was extracted, with no second pass over it.
    /// </summary>
    /// <returns>False when the database holds no 8-byte consistent index to overwrite (then it has to be rewritten).</returns>
    public static bool TrySetConsistentIndex(string database, long index)
    {
        long offset;
        using (var reader = new BoltReader(database))
        {
            if (reader.ValueLocation(MetaBucket, ConsistentIndexKey) is not { Length: 8 } location)
            {
                return false;
            }

            offset = location.Offset;
        }

        using var file = File.OpenHandle(database, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        var value = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(value, index);
        RandomAccess.Write(file, value, offset);
        RandomAccess.FlushToDisk(file);
        return true;
    }

    /// <summary>The snapshot's <c>meta</c> bucket with <c>consistent_index</c> set (added in key order when missing).</summary>
    private static void WriteMeta(BoltWriter writer, BoltReader reader, long index)
    {
        var value = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(value, index);
        var written = false;
        foreach (var (key, existing) in reader.Entries(MetaBucket))
        {
            var order = key.Span.SequenceCompareTo(ConsistentIndexKey);
            if (!written && order >= 0)
            {
                writer.Add(ConsistentIndexKey, value);
                written = true;
            }

            if (order != 0)
            {
                writer.Add(key.Span, existing.Span);
            }
        }

        if (!written)
        {
            writer.Add(ConsistentIndexKey, value);
        }
    }

    /// <summary>A <c>leasepb.Lease</c> as etcd 3.4 stores it: ID (field 1) and TTL (field 2).</summary>
    private static byte[] LeaseValue(long id, long ttl)
    {
        var bytes = new byte[CodedOutputStream.ComputeInt64Size(id) + CodedOutputStream.ComputeInt64Size(ttl) + 2];
        var output = new CodedOutputStream(bytes);
        output.WriteTag(1, WireFormat.WireType.Varint);
        output.WriteInt64(id);
        output.WriteTag(2, WireFormat.WireType.Varint);
        output.WriteInt64(ttl);
        output.CheckNoSpaceLeft();
        return bytes;
    }

    /// <summary>The snapshot's <c>finishedCompactRev</c> (0 when it was never compacted); <c>meta</c> is small.</summary>
    private static long CompactionMark(BoltReader reader)
    {
        foreach (var (key, value) in reader.Entries(MetaBucket))
        {
            if (key.Span.SequenceEqual("finishedCompactRev"u8) && value.Length >= 17)
            {
                return BinaryPrimitives.ReadInt64BigEndian(value.Span);
            }
        }

        return 0;
    }

    /// <summary>Appends one revision's changes to the key bucket, as etcd stores them.</summary>
    private static void Append(BoltWriter writer, byte[] key, RevisionRecord record, HashSet<long> usedLeases)
    {
        BinaryPrimitives.WriteInt64BigEndian(key, record.Revision);
        key[8] = (byte)'_';
        for (var sub = 0; sub < record.Changes.Count; sub++)
        {
            var change = record.Changes[sub];
            BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(9), sub);
            if (change.Kind == Change.Types.Kind.Put)
            {
                var kv = new KeyValue
                {
                    Key = change.Key,
                    CreateRevision = change.CreateRevision,
                    ModRevision = record.Revision,
                    Version = change.Version,
                    Value = change.Value,
                    Lease = change.Lease,
                };
                writer.Add(key.AsSpan(0, 17), kv.ToByteArray());
                if (change.Lease != 0)
                {
                    usedLeases.Add(change.Lease);
                }
            }
            else
            {
                key[17] = (byte)'t';
                writer.Add(key, new KeyValue { Key = change.Key }.ToByteArray());
            }
        }
    }
}
