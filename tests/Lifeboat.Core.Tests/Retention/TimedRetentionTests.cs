using Lifeboat.Core.Retention;

namespace Lifeboat.Core.Tests.Retention;

public sealed class TimedRetentionTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 30, 0, TimeSpan.Zero);

    private static Dictionary<DateTimeOffset, string> Expired(TimedRetentionPolicy policy, params double[] hoursAgo) =>
        TimedRetention.Expired(hoursAgo.Select(h => Now.AddHours(-h)), t => t, policy, Now);

    [Fact]
    public void KeepLast_KeepsTheNewest()
    {
        var expired = Expired(new TimedRetentionPolicy { KeepLast = 2 }, 1, 2, 3, 4);

        Assert.Equal([Now.AddHours(-3), Now.AddHours(-4)], expired.Keys.OrderByDescending(t => t));
    }

    [Fact]
    public void CountAndAge_TheStricterWins()
    {
        var expired = Expired(new TimedRetentionPolicy { KeepLast = 10, MaxAge = TimeSpan.FromHours(2.5) }, 1, 2, 3);

        var only = Assert.Single(expired);
        Assert.Equal(Now.AddHours(-3), only.Key);
        Assert.Contains("older than 2.5h", only.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void AgeAlone_KeepsEverythingYounger()
    {
        Assert.Equal(2, Expired(new TimedRetentionPolicy { MaxAge = TimeSpan.FromDays(1) }, 1, 23, 25, 49).Count);
    }

    [Fact]
    public void Tiers_KeepTheNewestOfEachHourDayAndWeek()
    {
        // Two in the current hour, two in the previous one, two a day ago, two a week and a half ago.
        var expired = Expired(new TimedRetentionPolicy { Hourly = 3, Daily = 3, Weekly = 3 }, 0.1, 0.2, 1.1, 1.2, 25.1, 25.2, 250, 250.1, 1000);

        Assert.Equal([0.2, 1.2, 25.2, 250.1, 1000], expired.Keys.Select(t => Math.Round((Now - t).TotalHours, 1)).OrderBy(h => h));
    }

    [Fact]
    public void Validate_RefusesCountsThatCouldDeleteEverything()
    {
        Assert.Throws<ArgumentException>(() => new TimedRetentionPolicy { KeepLast = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new TimedRetentionPolicy { MaxAge = TimeSpan.Zero }.Validate());
        Assert.Throws<ArgumentException>(() => new TimedRetentionPolicy { Daily = -1 }.Validate());
    }
}
