using Lifeboat.Core.Scheduling;

namespace Lifeboat.Core.Tests.Scheduling;

public sealed class FullSnapshotScheduleTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 21, 9, 30, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("@daily", "2026-11-22T00:00:00Z")]
    [InlineData("@hourly", "2026-11-21T10:00:00Z")]
    [InlineData("*/15 * * * *", "2026-11-21T09:45:00Z")]
    [InlineData("0 0 * * *", "2026-11-22T00:00:00Z")]
    [InlineData("@weekly", "2026-11-22T00:00:00Z")]
    public void NextAfter_InUtc_FollowsTheExpression(string expression, string expected)
    {
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), FullSnapshotSchedule.Parse(expression).NextAfter(T));
    }

    [Fact]
    public void NextAfter_InATimeZone_IsThatZonesMidnight()
    {
        var berlin = FullSnapshotSchedule.Parse("@daily", "Europe/Berlin");
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 23, 0, 0, TimeSpan.Zero), berlin.NextAfter(T)); // CET is UTC+1 in November
    }

    [Fact]
    public void IsDue_NoFullYet_OrScheduledTimePassed_IsTrue_ButMissedTimesCountOnce()
    {
        var daily = FullSnapshotSchedule.Parse("@daily");
        Assert.True(daily.IsDue(null, T));
        Assert.False(daily.IsDue(T.AddHours(-1), T));
        Assert.True(daily.IsDue(T.AddDays(-3), T)); // three missed midnights: one snapshot is due
        Assert.False(daily.IsDue(T, T.AddMinutes(1)));
    }

    [Theory]
    [InlineData("61 * * * *")]
    [InlineData("every day")]
    [InlineData("* * * *")]
    public void Parse_Invalid_ExplainsTheFormat(string expression)
    {
        var ex = Assert.Throws<ArgumentException>(() => FullSnapshotSchedule.Parse(expression));
        Assert.Contains("cron fields", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownTimeZone_SaysSo() =>
        Assert.Contains("IANA", Assert.Throws<ArgumentException>(() => FullSnapshotSchedule.Parse("@daily", "Mars/Olympus")).Message, StringComparison.Ordinal);

    /// <summary>
    /// A clock driven minute by minute across 2026's two daylight saving changes in Europe/Berlin: a daily snapshot at
    /// 00:00 is due once a day, at local midnight, whatever the offset from UTC that day.
    /// </summary>
    [Theory]
    [InlineData("2026-03-27T12:00:00Z", "2026-03-27T23:00:00Z", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z")]
    [InlineData("2026-10-23T12:00:00Z", "2026-10-23T22:00:00Z", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z")]
    public void DailyInBerlin_AcrossADaylightSavingChange_IsDueAtEachLocalMidnight(string start, string first, string second, string third)
    {
        var schedule = FullSnapshotSchedule.Parse("0 0 * * *", "Europe/Berlin");
        var now = At(start);
        DateTimeOffset? last = now;
        var taken = new List<DateTimeOffset>();
        for (var minute = 0; minute < 3 * 24 * 60; minute++, now = now.AddMinutes(1))
        {
            if (schedule.IsDue(last, now))
            {
                taken.Add(now);
                last = now;
            }
        }

        Assert.Equal([At(first), At(second), At(third)], taken);
        Assert.Equal(At(third), schedule.LatestAtOrBefore(now));
    }

    [Fact]
    public void ATimeTheClocksSkip_RunsAtTheFirstValidTime_AndATimeTheyRepeat_RunsOnce()
    {
        var schedule = FullSnapshotSchedule.Parse("30 2 * * *", "Europe/Berlin");
        Assert.Equal(At("2026-03-29T01:00:00Z"), schedule.NextAfter(At("2026-03-28T12:00:00Z"))); // 03:00 CEST: there is no 02:30 that day
        var repeated = schedule.NextAfter(At("2026-10-24T12:00:00Z"));
        Assert.Equal(At("2026-10-25T00:30:00Z"), repeated); // 02:30 CEST, the first of the day's two 02:30s
        Assert.Equal(At("2026-10-26T01:30:00Z"), schedule.NextAfter(repeated)); // not again at 02:30 CET an hour later
    }

    private static DateTimeOffset At(string utc) => DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture);
}
