using Lifeboat.Core.Retention;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;

namespace Lifeboat.Core.Tests.Retention;

public sealed class RetentionPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 30, 0, TimeSpan.Zero);

    private static StoredSnapshot Full(long revision, DateTimeOffset at) => Stored(SnapshotName.Full(revision, at, Compression.None));

    private static StoredSnapshot Delta(long first, long last, DateTimeOffset at) => Stored(SnapshotName.Delta(first, last, at, Compression.None));

    private static StoredSnapshot Stored(SnapshotName name) => new(name, new StoredObject(SnapshotLayout.ToKey(name), 1, name.CreatedAt));

    [Fact]
    public void Limit_KeepsNewestFullsAndTheirDeltas_DeletesOlderOnesOldestFirst()
    {
        var f1 = Full(100, Now.AddDays(-3));
        var d1 = Delta(101, 200, Now.AddDays(-3));
        var f2 = Full(200, Now.AddDays(-2));
        var d2 = Delta(201, 300, Now.AddDays(-2));
        var f3 = Full(300, Now.AddDays(-1));
        var d3 = Delta(301, 400, Now.AddHours(-1));

        var plan = RetentionPlanner.Plan([f1, d1, f2, d2, f3, d3], new RetentionPolicy.Limit(2), Now);

        Assert.Equal([f1, d1], plan.Delete.Select(d => d.Snapshot));
        Assert.Contains("beyond the newest 2", plan.Delete[0].Reason, StringComparison.Ordinal);
        Assert.Contains(f1.Key, plan.Delete[1].Reason, StringComparison.Ordinal);
        Assert.Equal([f2, d2, f3, d3], plan.Keep);
    }

    [Fact]
    public void AnyPolicy_NeverDeletesTheNewestRestorablePointOrTheOnlyFull()
    {
        var only = Full(100, Now.AddDays(-90)); // older than every tier
        var d1 = Delta(101, 150, Now.AddDays(-90));
        var d2 = Delta(151, 200, Now.AddMinutes(-5));

        var plan = RetentionPlanner.Plan([only, d1, d2], new RetentionPolicy.Exponential(), Now);

        Assert.Empty(plan.Delete);
    }

    [Fact]
    public void AnyPolicy_KeepsDeltasNewerThanTheNewestFull_EvenPastAGap()
    {
        var f1 = Full(100, Now.AddHours(-3));
        var f2 = Full(200, Now.AddHours(-2));
        var beyondGap = Delta(251, 300, Now.AddMinutes(-1)); // revisions 201..250 missing

        var plan = RetentionPlanner.Plan([f1, f2, beyondGap], new RetentionPolicy.Limit(1), Now);

        Assert.Equal([f1], plan.Delete.Select(d => d.Snapshot));
    }

    [Fact]
    public void Limit_StraddlingDelta_StaysWithTheNewerFullItContinues()
    {
        var f1 = Full(100, Now.AddHours(-3));
        var d1 = Delta(101, 150, Now.AddHours(-3));
        var f2 = Full(180, Now.AddHours(-2)); // taken mid-period
        var d2 = Delta(151, 200, Now.AddHours(-2));

        var plan = RetentionPlanner.Plan([f1, d1, f2, d2], new RetentionPolicy.Limit(1), Now);

        Assert.Equal([f1, d1], plan.Delete.Select(d => d.Snapshot));
    }

    [Fact]
    public void Exponential_KeepsCurrentHourAllThenNewestPerHourDayAndWeek()
    {
        var thisHour1 = Full(1000, Now.AddMinutes(-20));
        var thisHour2 = Full(990, Now.AddMinutes(-25));
        var hourAgoNew = Full(980, Now.AddMinutes(-70));
        var hourAgoOld = Full(970, Now.AddMinutes(-80)); // same hour bucket as hourAgoNew: goes
        var twoDaysNew = Full(900, Now.AddDays(-2).AddHours(1));
        var twoDaysOld = Full(890, Now.AddDays(-2).AddHours(-1)); // same day: goes
        var threeWeeks = Full(500, Now.AddDays(-20));
        var twoMonths = Full(100, Now.AddDays(-60)); // older than 4 weeks: goes
        var snapshots = new[] { thisHour1, thisHour2, hourAgoNew, hourAgoOld, twoDaysNew, twoDaysOld, threeWeeks, twoMonths };

        var plan = RetentionPlanner.Plan(snapshots, new RetentionPolicy.Exponential(), Now);

        Assert.Equal([twoMonths, twoDaysOld, hourAgoOld], plan.Delete.Select(d => d.Snapshot));
        Assert.Contains("older than 4 weeks", plan.Delete[0].Reason, StringComparison.Ordinal);
        Assert.Contains("day", plan.Delete[1].Reason, StringComparison.Ordinal);
        Assert.Contains("hour", plan.Delete[2].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Exponential_DeletesDeltasOfOlderChains()
    {
        var f1 = Full(100, Now.AddDays(-2));
        var d1 = Delta(101, 200, Now.AddDays(-2));
        var f2 = Full(200, Now.AddMinutes(-10));
        var d2 = Delta(201, 210, Now.AddMinutes(-1));

        var plan = RetentionPlanner.Plan([f1, d1, f2, d2], new RetentionPolicy.Exponential(), Now);

        Assert.Equal([d1], plan.Delete.Select(d => d.Snapshot));
        Assert.Contains("newest chain only", plan.Delete[0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_NoFullSnapshot_DeletesNothing_AndZeroLimitIsRefused()
    {
        Assert.Empty(RetentionPlanner.Plan([Delta(1, 5, Now)], new RetentionPolicy.Limit(1), Now).Delete);
        Assert.Throws<ArgumentException>(() => RetentionPlanner.Plan([Full(1, Now)], new RetentionPolicy.Limit(0), Now));
    }
}
