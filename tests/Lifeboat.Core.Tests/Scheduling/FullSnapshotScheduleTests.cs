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
}
