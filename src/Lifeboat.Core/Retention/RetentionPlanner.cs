using System.Globalization;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;

namespace Lifeboat.Core.Retention;

/// <summary>
/// Decides what retention deletes (pure: the listing, the policy and <c>now</c> in, a plan out). Whatever the policy,
/// it never deletes: the only full snapshot; the full snapshot and deltas of the newest restorable point; any delta
/// newer than the newest full snapshot (even past a gap, in case the missing delta is still on its way).
/// </summary>
/// <remarks>
/// A delta belongs to the newest full snapshot older than its last revision; it goes when that full snapshot goes
/// (for <see cref="RetentionPolicy.Exponential"/>, unless it belongs to the newest chain).
/// </remarks>
public static class RetentionPlanner
{
    public static RetentionPlan Plan(IReadOnlyList<StoredSnapshot> snapshots, RetentionPolicy policy, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        ArgumentNullException.ThrowIfNull(policy);
        var fulls = snapshots.Where(s => s.Name.Kind == SnapshotKind.Full)
            .OrderByDescending(s => s.Name.LastRevision).ThenByDescending(s => s.Name.CreatedAt).ToList();
        var deltas = snapshots.Where(s => s.Name.Kind == SnapshotKind.Delta).ToList();
        if (fulls.Count == 0)
        {
            return new RetentionPlan(snapshots, []); // nothing anchors a chain: delete nothing rather than guess
        }

        var reasons = new Dictionary<StoredSnapshot, string>();
        var keptFulls = policy switch
        {
            RetentionPolicy.Limit limit => KeepNewest(fulls, limit, reasons),
            RetentionPolicy.Exponential tiers => KeepExponential(fulls, tiers, now, reasons),
            _ => throw new ArgumentOutOfRangeException(nameof(policy)),
        };

        // Protections that no policy overrides.
        var newest = fulls[0];
        keptFulls.Add(newest);
        var protectedSet = new HashSet<StoredSnapshot> { newest };
        var newestChain = RestorePlanner.Chains(snapshots).FirstOrDefault(c => c.Full == newest);
        if (newestChain is not null)
        {
            protectedSet.UnionWith(newestChain.Deltas);
        }

        protectedSet.UnionWith(deltas.Where(d => d.Name.LastRevision > newest.Name.LastRevision));

        var delete = new List<RetentionDeletion>();
        foreach (var full in fulls.Where(f => !keptFulls.Contains(f)))
        {
            delete.Add(new RetentionDeletion(full, reasons.GetValueOrDefault(full, "not kept by the policy")));
        }

        foreach (var delta in deltas.Where(d => !protectedSet.Contains(d)))
        {
            var owner = fulls.Where(f => f.Name.LastRevision < delta.Name.LastRevision).MaxBy(f => (f.Name.LastRevision, f.Name.CreatedAt));
            if (owner is null)
            {
                delete.Add(new RetentionDeletion(delta, "older than every full snapshot"));
            }
            else if (!keptFulls.Contains(owner))
            {
                delete.Add(new RetentionDeletion(delta, $"its full snapshot {owner.Key} is deleted"));
            }
            else if (policy is RetentionPolicy.Exponential)
            {
                delete.Add(new RetentionDeletion(delta, "exponential retention keeps deltas of the newest chain only"));
            }
        }

        delete.Sort((a, b) => SnapshotLayout.CompareChainOrder(a.Snapshot.Name, b.Snapshot.Name));
        var deleted = delete.Select(d => d.Snapshot).ToHashSet();
        return new RetentionPlan(snapshots.Where(s => !deleted.Contains(s)).ToList(), delete);
    }

    private static HashSet<StoredSnapshot> KeepNewest(List<StoredSnapshot> fulls, RetentionPolicy.Limit limit, Dictionary<StoredSnapshot, string> reasons)
    {
        if (limit.FullSnapshots < 1)
        {
            throw new ArgumentException("retention must keep at least one full snapshot", nameof(limit));
        }

        foreach (var f in fulls.Skip(limit.FullSnapshots))
        {
            reasons[f] = string.Create(CultureInfo.InvariantCulture, $"beyond the newest {limit.FullSnapshots} full snapshots");
        }

        return fulls.Take(limit.FullSnapshots).ToHashSet();
    }

    private static HashSet<StoredSnapshot> KeepExponential(List<StoredSnapshot> fulls, RetentionPolicy.Exponential tiers, DateTimeOffset now,
        Dictionary<StoredSnapshot, string> reasons)
    {
        if (tiers.Hours < 0 || tiers.Days < 0 || tiers.Weeks < 0)
        {
            throw new ArgumentException("retention tiers cannot be negative", nameof(tiers));
        }

        var kept = new HashSet<StoredSnapshot>();
        var buckets = new HashSet<string>();
        var currentHour = Truncate(now, TimeSpan.FromHours(1));
        foreach (var f in fulls.OrderByDescending(f => f.Name.CreatedAt))
        {
            var created = f.Name.CreatedAt;
            var age = now - created;
            string? bucket;
            if (created >= currentHour)
            {
                kept.Add(f); // every full snapshot of the current hour
                continue;
            }

            if (age < TimeSpan.FromHours(tiers.Hours))
            {
                bucket = "h" + Truncate(created, TimeSpan.FromHours(1)).ToString("yyyyMMddHH", CultureInfo.InvariantCulture);
            }
            else if (age < TimeSpan.FromDays(tiers.Days))
            {
                bucket = "d" + created.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
            }
            else if (age < TimeSpan.FromDays(7 * tiers.Weeks))
            {
                bucket = string.Create(CultureInfo.InvariantCulture, $"w{ISOWeek.GetYear(created.UtcDateTime)}-{ISOWeek.GetWeekOfYear(created.UtcDateTime)}");
            }
            else
            {
                reasons[f] = string.Create(CultureInfo.InvariantCulture, $"older than {tiers.Weeks} weeks");
                continue;
            }

            if (buckets.Add(bucket))
            {
                kept.Add(f); // the newest of its hour, day or week
            }
            else
            {
                reasons[f] = $"a newer full snapshot covers its {(bucket[0] == 'h' ? "hour" : bucket[0] == 'd' ? "day" : "week")}";
            }
        }

        return kept;
    }

    private static DateTimeOffset Truncate(DateTimeOffset t, TimeSpan unit)
    {
        var utc = t.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % unit.Ticks), TimeSpan.Zero);
    }
}
