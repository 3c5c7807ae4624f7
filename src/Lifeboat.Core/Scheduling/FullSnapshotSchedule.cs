using Cronos;

namespace Lifeboat.Core.Scheduling;

/// <summary>
/// When full snapshots are due: a 5-field cron expression (minute hour day-of-month month day-of-week) or a macro
/// (<c>@hourly</c>, <c>@daily</c>/<c>@midnight</c>, <c>@weekly</c>, <c>@monthly</c>, <c>@yearly</c>), evaluated in a time
/// zone (UTC unless given). Pure: every answer is computed from the times passed in.
/// </summary>
/// <remarks>
/// Cronos evaluates the expression in the zone, daylight saving time included: a time that does not exist on the day
/// the clocks go forward (02:30 in Europe/Berlin on the last Sunday of March) runs at the first valid time after it
/// (03:00), and a time that exists twice when they go back runs once, at its first occurrence. Expressions that fire
/// every few minutes or hours keep firing through the repeated hour, as cron does.
/// </remarks>
public sealed class FullSnapshotSchedule
{
    private readonly CronExpression _cron;

    private FullSnapshotSchedule(string expression, CronExpression cron, TimeZoneInfo zone)
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
        var text = expression.Trim();
        if (!CronExpression.TryParse(text, CronFormat.Standard, out var cron))
        {
            throw new ArgumentException(
                $"'{expression}' is not a schedule: write 5 cron fields (minute hour day month weekday, e.g. \"0 0 * * *\") or @hourly/@daily/@weekly/@monthly");
        }

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

        return new FullSnapshotSchedule(text, cron, zone);
    }

    /// <summary>The first scheduled time strictly after <paramref name="after"/>, in UTC.</summary>
    /// <exception cref="ArgumentException">The expression never fires again (e.g. 30 February).</exception>
    public DateTimeOffset NextAfter(DateTimeOffset after) =>
        _cron.GetNextOccurrence(after, TimeZone)?.ToUniversalTime()
        ?? throw new ArgumentException($"schedule '{Expression}' has no time after {after.UtcDateTime:u}");

    /// <summary>
    /// The latest scheduled time at or before <paramref name="now"/> (the slot a job started for that schedule belongs
    /// to, however late it started); searched back up to about a year.
    /// </summary>
    /// <exception cref="ArgumentException">The schedule has no time in the year before <paramref name="now"/>.</exception>
    public DateTimeOffset LatestAtOrBefore(DateTimeOffset now)
    {
        foreach (var window in new[] { TimeSpan.FromHours(1), TimeSpan.FromDays(1), TimeSpan.FromDays(8), TimeSpan.FromDays(32), TimeSpan.FromDays(367) })
        {
            var occurrences = _cron.GetOccurrences(now - window, now, TimeZone, fromInclusive: true, toInclusive: true);
            if (occurrences.Select(o => (DateTimeOffset?)o).LastOrDefault() is { } latest)
            {
                return latest.ToUniversalTime();
            }
        }

        throw new ArgumentException($"schedule '{Expression}' has no time in the year before {now.UtcDateTime:u}");
    }

    /// <summary>
    /// Whether a full snapshot is due at <paramref name="now"/>: a scheduled time has passed since the last full
    /// snapshot (or there is none). A time missed while the sidecar was down makes one due at once, not two.
    /// </summary>
    public bool IsDue(DateTimeOffset? lastFull, DateTimeOffset now) => lastFull is not { } last || NextAfter(last) <= now;
}
