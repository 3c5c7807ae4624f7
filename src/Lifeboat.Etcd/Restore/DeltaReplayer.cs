using Google.Protobuf;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Etcd.Deltas.Format;
using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Restore;

/// <summary>
/// Applies delta records to an etcd restored from the chain's full snapshot: each source revision becomes exactly one
/// transaction, so revisions, create revisions and versions come out equal to the source's.
/// </summary>
/// <remarks>
/// Every transaction is guarded: a put that created a key requires the key to be absent, any other change requires
/// the key's mod_revision to be the one the source had before the change; and the transaction must land at the source
/// revision. Anything else stops the replay with <see cref="ReplayDivergedException"/> rather than produce a database
/// whose revisions differ from the source's (Kubernetes treats revisions as resourceVersions, which must never go
/// backwards or be reused).
/// </remarks>
public sealed class DeltaReplayer(EtcdClient target, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Replays <paramref name="records"/> (in order, possibly starting at or before <paramref name="fromRevision"/>).</summary>
    /// <param name="fromRevision">The etcd's revision now: records up to it are skipped.</param>
    /// <param name="stopAtRevision">Last revision to apply.</param>
    /// <param name="stopAtTime">When set, stop before the first revision observed after it.</param>
    /// <returns>The revision reached and the number of revisions and changes applied.</returns>
    public async Task<(long Revision, long Revisions, long Changes)> ReplayAsync(IAsyncEnumerable<RevisionRecord> records, long fromRevision,
        long stopAtRevision, DateTimeOffset? stopAtTime, IProgress<ReplayProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        var status = await target.StatusAsync(null, cancellationToken);
        if (status.Header.Revision != fromRevision)
        {
            throw new ReplayDivergedException(
                $"the etcd restored from the full snapshot is at revision {status.Header.Revision}, not the snapshot's {fromRevision}");
        }

        var leases = await target.LeaseLeasesAsync(cancellationToken);
        await using var keeper = new LeaseKeeper(target, leases.Leases.Select(l => l.ID), _time);
        var ttls = new Dictionary<long, long>();
        var current = fromRevision;
        long revisions = 0;
        long changes = 0;
        var stopMicros = stopAtTime?.ToUnixTimeMilliseconds() * 1000;
        await foreach (var record in records.WithCancellation(cancellationToken))
        {
            foreach (var lease in record.NewLeases)
            {
                ttls[lease.Id] = lease.GrantedTtl;
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

            keeper.ThrowIfFailed();
            await EnsureLeasesAsync(record, keeper, ttls, cancellationToken);
            var response = await target.TxnAsync(ToTxn(record), cancellationToken);
            if (!response.Succeeded)
            {
                throw new ReplayDivergedException(
                    $"revision {record.Revision} does not apply: a key is not in the state the source had before it ({Describe(record)})");
            }

            if (response.Header.Revision != record.Revision)
            {
                throw new ReplayDivergedException(
                    $"revision {record.Revision} landed at {response.Header.Revision} on the restored etcd (something else wrote to it)");
            }

            current = record.Revision;
            revisions++;
            changes += record.Changes.Count;
            progress?.Report(new ReplayProgress(revisions, changes, stopAtRevision == long.MaxValue ? null : stopAtRevision - fromRevision));
        }

        keeper.ThrowIfFailed();
        return (current, revisions, changes);
    }

    private async Task EnsureLeasesAsync(RevisionRecord record, LeaseKeeper keeper, Dictionary<long, long> ttls, CancellationToken cancellationToken)
    {
        foreach (var change in record.Changes)
        {
            if (change.Lease == 0 || keeper.IsKnown(change.Lease))
            {
                continue;
            }

            var ttl = ttls.TryGetValue(change.Lease, out var t) && t > 0 ? t : DeltaOptions.UnknownLeaseTtlSeconds;
            await target.LeaseGrantAsync(ttl, change.Lease, cancellationToken); // a grant does not change the revision
            keeper.Track(change.Lease);
        }
    }

    private static TxnRequest ToTxn(RevisionRecord record)
    {
        var txn = new TxnRequest();
        foreach (var c in record.Changes)
        {
            if (c.Kind == Change.Types.Kind.Put)
            {
                if (c.Version == 1)
                {
                    txn.Compare.Add(new Compare { Key = c.Key, Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 0 });
                }
                else if (c.PrevModRevision > 0)
                {
                    txn.Compare.Add(ModEquals(c.Key, c.PrevModRevision));
                }

                txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = c.Key, Value = c.Value, Lease = c.Lease } });
            }
            else
            {
                txn.Compare.Add(c.PrevModRevision > 0
                    ? ModEquals(c.Key, c.PrevModRevision)
                    : new Compare { Key = c.Key, Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Greater, Version = 0 });
                txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = c.Key } });
            }
        }

        return txn;
    }

    private static Compare ModEquals(ByteString key, long modRevision) =>
        new() { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = modRevision };

    private static string Describe(RevisionRecord record)
    {
        var keys = record.Changes.Take(3).Select(c => $"{c.Kind.ToString().ToLowerInvariant()} {c.Key.ToStringUtf8()}");
        return string.Join(", ", keys) + (record.Changes.Count > 3 ? $", … {record.Changes.Count} changes" : "");
    }
}
