using System.Globalization;
using Lifeboat.Core.Snapshots;

namespace Lifeboat.Core.Restore;

/// <summary>
/// Decides what a restore reads, from the store's listing alone (pure: no I/O, no clock).
/// </summary>
/// <remarks>
/// A chain is a full snapshot at revision R and the deltas that continue it without a gap: the first covers R+1
/// (it may start earlier, when the full snapshot was taken in the middle of a delta period; replay skips what the full
/// snapshot already holds), each next one starts right after the previous one ends. Deltas that cover the same
/// revision are refused as ambiguous, and so is a restore that would have to cross a gap, naming the gap.
/// </remarks>
public static class RestorePlanner
{
    /// <summary>Every chain in the store, oldest full snapshot first.</summary>
    public static IReadOnlyList<ChainSpan> Chains(IReadOnlyList<StoredSnapshot> snapshots)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        var deltas = snapshots.Where(s => s.Name.Kind == SnapshotKind.Delta).OrderBy(s => s.Name.FirstRevision).ThenBy(s => s.Name.LastRevision).ToList();
        CheckNoOverlap(deltas);
        return snapshots.Where(s => s.Name.Kind == SnapshotKind.Full)
            .OrderBy(s => s.Name.LastRevision).ThenBy(s => s.Name.CreatedAt)
            .Select(full => Chain(full, deltas))
            .ToList();
    }

    /// <summary>
    /// The chain that reaches furthest; among those, the one with the newest full snapshot (fewest deltas to replay, e.g.
    /// after a compaction created a full snapshot at the same revision); null when there is none.
    /// </summary>
    public static ChainSpan? Newest(IReadOnlyList<ChainSpan> chains) =>
        chains.Count == 0 ? null : chains.MaxBy(c => (c.LastRevision, c.FirstRevision, c.FirstTime));

    /// <exception cref="RestorePlanException">The store cannot serve <paramref name="target"/>; the message says why and what can be done.</exception>
    public static RestorePlan Plan(IReadOnlyList<StoredSnapshot> snapshots, RestoreTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var chains = Chains(snapshots);
        if (chains.Count == 0)
        {
            throw new RestorePlanException("the store holds no full snapshot, so there is nothing to restore from",
                "check --store; a chain starts with `lifeboat etcd snapshot full`");
        }

        switch (target)
        {
            case RestoreTarget.LatestTarget:
                {
                    var chain = Newest(chains)!;
                    if (chain.GapAfter is { } gap)
                    {
                        throw GapError(chain, gap, "the latest point");
                    }

                    return new RestorePlan(chain.Full, chain.Deltas, chain.LastRevision, null);
                }

            case RestoreTarget.RevisionTarget { Revision: var revision }:
                {
                    var candidates = chains.Where(c => c.FirstRevision <= revision).ToList();
                    if (candidates.Count == 0)
                    {
                        throw new RestorePlanException(
                            $"revision {revision} is before the oldest full snapshot (revision {chains.Min(c => c.FirstRevision)})",
                            "pick a revision within the spans `lifeboat etcd snapshots list` shows");
                    }

                    var chain = candidates.MaxBy(c => (c.FirstRevision, c.FirstTime))!;
                    if (revision > chain.LastRevision)
                    {
                        if (chain.GapAfter is { } gap)
                        {
                            throw GapError(chain, gap, $"revision {revision}");
                        }

                        throw new RestorePlanException(
                            $"revision {revision} is past the newest restorable point (revision {chain.LastRevision})",
                            "restore the latest point (omit --to-revision) or pick an earlier revision");
                    }

                    var deltas = chain.Deltas.TakeWhile(d => d.Name.FirstRevision <= revision).ToList();
                    return new RestorePlan(chain.Full, deltas, revision, null);
                }

            case RestoreTarget.TimeTarget { Time: var time }:
                {
                    var candidates = chains.Where(c => c.FirstTime <= time).ToList();
                    if (candidates.Count == 0)
                    {
                        throw new RestorePlanException(
                            $"{Format(time)} is before the oldest full snapshot ({Format(chains.Min(c => c.FirstTime))})",
                            "pick a time within the spans `lifeboat etcd snapshots list` shows");
                    }

                    var chain = candidates.MaxBy(c => (c.FirstTime, c.FirstRevision))!;
                    if (time > chain.LastTime)
                    {
                        if (chain.GapAfter is { } gap)
                        {
                            throw GapError(chain, gap, Format(time));
                        }

                        // Nothing recorded the changes after the chain's end, so the state at that time is unknown.
                        throw new RestorePlanException(
                            $"{Format(time)} is past the restorable points of its chain, which end at {Format(chain.LastTime)} (revision {chain.LastRevision})",
                            $"restore the latest point (omit --to-time), or --to-time {Format(chain.LastTime)} for that chain's end");
                    }

                    // Deltas written at or before the time, plus the first one written after it, which holds the crossing.
                    var deltas = new List<StoredSnapshot>();
                    foreach (var d in chain.Deltas)
                    {
                        deltas.Add(d);
                        if (d.Name.CreatedAt > time)
                        {
                            break;
                        }
                    }

                    return new RestorePlan(chain.Full, deltas, deltas.Count == 0 ? chain.FirstRevision : deltas[^1].Name.LastRevision, time);
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(target));
        }
    }

    private static ChainSpan Chain(StoredSnapshot full, List<StoredSnapshot> deltas)
    {
        var chain = new List<StoredSnapshot>();
        var next = full.Name.LastRevision + 1;
        foreach (var d in deltas)
        {
            if (d.Name.LastRevision < next)
            {
                continue; // older than this point of the chain
            }

            if (d.Name.FirstRevision > next)
            {
                return new ChainSpan(full, chain, next);
            }

            chain.Add(d);
            next = d.Name.LastRevision + 1;
        }

        return new ChainSpan(full, chain, null);
    }

    private static void CheckNoOverlap(List<StoredSnapshot> sortedDeltas)
    {
        for (var i = 1; i < sortedDeltas.Count; i++)
        {
            var a = sortedDeltas[i - 1];
            var b = sortedDeltas[i];
            if (b.Name.FirstRevision <= a.Name.LastRevision)
            {
                throw new RestorePlanException(
                    $"deltas {a.Key} and {b.Key} both hold revision {b.Name.FirstRevision} (two writers on one store?)",
                    "keep one of them: move the other out of the store, then restore again");
            }
        }
    }

    private static RestorePlanException GapError(ChainSpan chain, long gap, string what)
    {
        var resume = chain.Deltas.Count == 0 ? chain.Full : chain.Deltas[^1];
        return new RestorePlanException(
            $"cannot restore {what}: the chain from full snapshot {chain.Full.Key} has a gap — revision {gap} is in no delta (the chain resumes after {resume.Key})",
            $"restore up to revision {gap - 1} with --to-revision {gap - 1}, or restore from a newer full snapshot");
    }

    private static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
