using NCrontab;

namespace Lifeboat.Core.Scheduling;

/// <summary>
/// When full snapshots are due: a 5-field cron expression (minute hour day-of-month month day-of-week) or
/// <c>@hourly</c>, <c>@daily</c>/<c>@midnight</c>, <c>@weekly</c>, <c>@monthly</c>, evaluated in a time zone (UTC
/// unless given). Pure: every answer is computed from the times passed in.
/// </summary>
public sealed class FullSnapshotSchedule
{
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["@hourly"] = "0 * * * *",
        ["@daily"] = "0 0 * * *",
        ["@midnight"] = "0 0 * * *",
        ["@weekly"] = "0 0 * * 0",
        ["@monthly"] = "0 0 1 * *",
    };

    private readonly CrontabSchedule _cron;

    private FullSnapshotSchedule(string expression, CrontabSchedule cron, TimeZoneInfo zone)
    {
        Expression = expression;
        _cron = cron;
        TimeZone = zone;
    }

    public string Expression { get; }

    public TimeZoneInfo TimeZone { get; }

    /// <exception cref="ArgumentException">The expression or the time zone is not valid; the message says how to write it.</exception>
    public static FullSnapshotSchedule Parse(string expression, string? timeZone = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(expression);
        var text = Aliases.GetValueOrDefault(expression.Trim(), expression.Trim());
        var cron = CrontabSchedule.TryParse(text, new CrontabSchedule.ParseOptions { IncludingSeconds = false })
            ?? throw new ArgumentException(
                $"'{expression}' is not a schedule: write 5 cron fields (minute hour day month weekday, e.g. \"0 0 * * *\") or @hourly/@daily/@weekly/@monthly");
        TimeZoneInfo zone;
        try
        {
            zone = string.IsNullOrWhiteSpace(timeZone) ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        }
        catch (TimeZoneNotFoundException)
        {
            throw new ArgumentException($"time zone '{timeZone}' is not known: use an IANA name such as Europe/Berlin, or UTC");
        }
        catch (InvalidTimeZoneException)
        {
            throw new ArgumentException($"time zone '{timeZone}' is not valid on this machine: use an IANA name such as Europe/Berlin, or UTC");
        }

        return new FullSnapshotSchedule(expression.Trim(), cron, zone);
    }

    /// <summary>The first scheduled time strictly after <paramref name="after"/>.</summary>
    public DateTimeOffset NextAfter(DateTimeOffset after)
    {
        var local = TimeZoneInfo.ConvertTime(after, TimeZone);
        var next = _cron.GetNextOccurrence(local.DateTime);
        var offset = TimeZone.GetUtcOffset(next);
        return new DateTimeOffset(next, offset).ToUniversalTime();
    }

    /// <summary>
    /// The latest scheduled time at or before <paramref name="now"/> (the slot a job started for that schedule belongs
    /// to, however late it started); searched back up to about a year.
    /// </summary>
    /// <exception cref="ArgumentException">The schedule has no time in the year before <paramref name="now"/>.</exception>
    public DateTimeOffset LatestAtOrBefore(DateTimeOffset now)
    {
        foreach (var window in new[] { TimeSpan.FromHours(1), TimeSpan.FromDays(1), TimeSpan.FromDays(8), TimeSpan.FromDays(32), TimeSpan.FromDays(367) })
        {
            DateTimeOffset? latest = null;
            var at = now - window - TimeSpan.FromMinutes(1);
            while (NextAfter(at) is var next && next <= now)
            {
                latest = next;
                at = next;
            }

            if (latest is { } found)
            {
                return found;
            }
        }

        throw new ArgumentException($"schedule '{Expression}' has no time in the year before {now:u}");
    }

    /// <summary>
    /// Whether a full snapshot is due at <paramref name="now"/>: a scheduled time has passed since the last full
    /// snapshot (or there is none). A time missed while the sidecar was down makes one due at once, not two.
    /// </summary>
    public bool IsDue(DateTimeOffset? lastFull, DateTimeOffset now) => lastFull is not { } last || NextAfter(last) <= now;
}
