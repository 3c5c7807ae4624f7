using System.Globalization;

namespace Lifeboat.Core.Retention;

/// <summary>
/// Retention of point-in-time copies that stand alone (volume snapshots, resource backups), by count, by age and by
/// calendar tiers. A copy is kept when a keep rule selects it — one of the newest <see cref="KeepLast"/>, or the newest
/// of its hour, day or ISO week within the last <see cref="Hourly"/> hours, <see cref="Daily"/> days or
/// <see cref="Weekly"/> weeks — and it is not older than <see cref="MaxAge"/>: when count and age disagree, the
/// stricter wins. With no keep rule, only the age applies.
/// </summary>
public sealed record TimedRetentionPolicy
{
    public int? KeepLast { get; init; }

    public TimeSpan? MaxAge { get; init; }

    public int Hourly { get; init; }

    public int Daily { get; init; }

    public int Weekly { get; init; }

    public bool HasKeepRule => KeepLast is not null || Hourly > 0 || Daily > 0 || Weekly > 0;

    /// <exception cref="ArgumentException">A count below 1 (or a negative tier), or an age that is not positive.</exception>
    public void Validate()
    {
        if (KeepLast is < 1)
        {
            throw new ArgumentException("--keep-last must be at least 1 (the newest good copy is never deleted anyway)");
        }

        if (MaxAge is { } age && age <= TimeSpan.Zero)
        {
            throw new ArgumentException("--max-age must be a positive duration such as 7d or 36h");
        }

        if (Hourly < 0 || Daily < 0 || Weekly < 0)
        {
            throw new ArgumentException("--keep-hourly, --keep-daily and --keep-weekly cannot be negative");
        }
    }

    public override string ToString()
    {
        var parts = new List<string>();
        if (KeepLast is { } last)
        {
            parts.Add($"last {last}");
        }

        if (Hourly > 0)
        {
            parts.Add($"{Hourly} hourly");
        }

        if (Daily > 0)
        {
            parts.Add($"{Daily} daily");
        }

        if (Weekly > 0)
        {
            parts.Add($"{Weekly} weekly");
        }

        if (MaxAge is { } age)
        {
            parts.Add($"none older than {age.TotalHours.ToString("0.##", CultureInfo.InvariantCulture)}h");
        }

        return parts.Count == 0 ? "keep everything" : string.Join(", ", parts);
    }
}

public static class TimedRetention
{
    /// <summary>
    /// The copies the policy lets go, each with the reason. Pure: the items, their times, the policy and <c>now</c> in.
    /// Callers add their own protections (the newest good copy, copies in use) on top.
    /// </summary>
    public static Dictionary<T, string> Expired<T>(IEnumerable<T> items, Func<T, DateTimeOffset> time, TimedRetentionPolicy policy, DateTimeOffset now)
        where T : notnull
    {
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        var ordered = items.OrderByDescending(time).ToList();
        var kept = new HashSet<T>();
        if (!policy.HasKeepRule)
        {
            kept.UnionWith(ordered);
        }

        if (policy.KeepLast is { } last)
        {
            kept.UnionWith(ordered.Take(last));
        }

        KeepNewestPerBucket(ordered, time, now, TimeSpan.FromHours(policy.Hourly), t => t.ToString("yyyyMMddHH", CultureInfo.InvariantCulture), kept);
        KeepNewestPerBucket(ordered, time, now, TimeSpan.FromDays(policy.Daily), t => t.ToString("yyyyMMdd", CultureInfo.InvariantCulture), kept);
        KeepNewestPerBucket(ordered, time, now, TimeSpan.FromDays(7 * policy.Weekly),
            t => string.Create(CultureInfo.InvariantCulture, $"{ISOWeek.GetYear(t)}-{ISOWeek.GetWeekOfYear(t)}"), kept);

        var expired = new Dictionary<T, string>();
        foreach (var item in ordered)
        {
            var age = now - time(item);
            if (policy.MaxAge is { } maxAge && age > maxAge)
            {
                expired[item] = $"older than {Describe(maxAge)}";
            }
            else if (!kept.Contains(item))
            {
                expired[item] = $"not kept by the policy ({policy})";
            }
        }

        return expired;
    }

    private static void KeepNewestPerBucket<T>(List<T> newestFirst, Func<T, DateTimeOffset> time, DateTimeOffset now, TimeSpan window,
        Func<DateTime, string> bucket, HashSet<T> kept)
    {
        if (window <= TimeSpan.Zero)
        {
            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in newestFirst.Where(i => now - time(i) < window))
        {
            if (seen.Add(bucket(time(item).UtcDateTime)))
            {
                kept.Add(item);
            }
        }
    }

    private static string Describe(TimeSpan age) =>
        age.TotalDays >= 1 && age.TotalDays == Math.Floor(age.TotalDays)
            ? $"{age.TotalDays.ToString(CultureInfo.InvariantCulture)}d"
            : $"{age.TotalHours.ToString("0.##", CultureInfo.InvariantCulture)}h";
}
