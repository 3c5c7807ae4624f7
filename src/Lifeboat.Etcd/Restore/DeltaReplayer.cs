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
/// backwards or be reused). Two transactions are in flight at once, so that the next one waits in etcd while the current
/// one commits; a chain guard in each (see <see cref="ToTxn"/>) keeps them applying in source order whatever order
/// etcd receives them in.
/// </remarks>
public sealed class DeltaReplayer(EtcdClient target, TimeProvider? time = null)
{
    /// <summary>
    /// Transactions in flight. etcd serves each HTTP/2 stream on its own goroutine, so transactions sent together race
    /// into raft; measured on 100k revisions: depth 1 3.0k, depth 2 3.4k, depth 4 2.6k, depth 8 2.6k revisions/s
    /// (deeper pipelines lose more to transactions that arrive before their predecessor and are sent again).
    /// </summary>
    private const int Pipeline = 2;

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
        long? total = stopAtRevision == long.MaxValue ? null : stopAtRevision - fromRevision;
        var inFlight = new Queue<(RevisionRecord Record, Task<TxnResponse> Response)>();
        RevisionRecord? previous = null;

        // Applies the oldest transaction in flight; one that arrived before its predecessor was applied failed its
        // chain guard without effect, and is sent again now that the predecessor is in.
        async Task CompleteOldestAsync()
        {
            var (record, pending) = inFlight.Dequeue();
            var response = await pending;
            if (!response.Succeeded)
            {
                response = await target.TxnAsync(ToTxn(record, null), cancellationToken);
            }

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

            revisions++;
            changes += record.Changes.Count;
            progress?.Report(new ReplayProgress(revisions, changes, total));
        }

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
            if (NeedsNewLease(record, keeper))
            {
                while (inFlight.Count > 0)
                {
                    await CompleteOldestAsync(); // grants go in between revisions, so drain first
                }

                await EnsureLeasesAsync(record, keeper, ttls, cancellationToken);
            }

            inFlight.Enqueue((record, target.TxnAsync(ToTxn(record, previous), cancellationToken)));
            previous = record;
            current = record.Revision;
            if (inFlight.Count >= Pipeline)
            {
                await CompleteOldestAsync();
            }
        }

        while (inFlight.Count > 0)
        {
            await CompleteOldestAsync();
        }

        keeper.ThrowIfFailed();
        return (current, revisions, changes);
    }

    private static bool NeedsNewLease(RevisionRecord record, LeaseKeeper keeper) =>
        record.Changes.Any(c => c.Lease != 0 && !keeper.IsKnown(c.Lease));

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

    /// <summary>
    /// The transaction of one source revision: its changes, guarded by compares on each key's previous state, and —
    /// when <paramref name="previous"/> is given — by a chain guard that holds only once the previous revision has been
    /// applied (a key it put carries its revision; a key it deleted is gone). The chain guard is what lets
    /// transactions be sent ahead without waiting: one that arrives early fails and changes nothing.
    /// </summary>
    private static TxnRequest ToTxn(RevisionRecord record, RevisionRecord? previous)
    {
        var txn = new TxnRequest();
        if (previous is not null)
        {
            txn.Compare.Add(previous.Changes.FirstOrDefault(c => c.Kind == Change.Types.Kind.Put) is { } put
                ? ModEquals(put.Key, previous.Revision)
                : new Compare { Key = previous.Changes[0].Key, Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 0 });
        }

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
