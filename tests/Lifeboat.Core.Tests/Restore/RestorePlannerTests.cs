using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;

namespace Lifeboat.Core.Tests.Restore;

public sealed class RestorePlannerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 0, 0, 0, TimeSpan.Zero);

    private static StoredSnapshot Full(long revision, int minute) => Stored(SnapshotName.Full(revision, T0.AddMinutes(minute), Compression.None));

    private static StoredSnapshot Delta(long first, long last, int minute) => Stored(SnapshotName.Delta(first, last, T0.AddMinutes(minute), Compression.Gzip));

    private static StoredSnapshot Stored(SnapshotName name) => new(name, new StoredObject(SnapshotLayout.ToKey(name), 1, name.CreatedAt));

    [Fact]
    public void Plan_Latest_UsesNewestFullAndItsContiguousDeltas()
    {
        var full1 = Full(100, 0);
        var d1 = Delta(101, 150, 5);
        var d2 = Delta(151, 200, 10);
        var full2 = Full(180, 8); // taken mid-period: d2 straddles it
        var d3 = Delta(201, 230, 15);

        var plan = RestorePlanner.Plan([full1, d1, d2, full2, d3], RestoreTarget.Latest);

        Assert.Equal(full2, plan.Full);
        Assert.Equal([d2, d3], plan.Deltas);
        Assert.Equal(230, plan.StopAtRevision);
        Assert.Equal(180, plan.FullRevision);
    }

    [Fact]
    public void Plan_Latest_CompactedFullAtTheChainsEndInTheSameSecond_WinsOverTheOldChain()
    {
        var old = Full(100, 0);
        var d1 = Delta(101, 150, 0);
        var compacted = Full(150, 0); // same creation second as the old full snapshot

        var plan = RestorePlanner.Plan([old, d1, compacted], RestoreTarget.Latest);

        Assert.Equal(compacted, plan.Full);
        Assert.Empty(plan.Deltas);
    }

    [Fact]
    public void Plan_Revision_PicksNewestFullAtOrBeforeAndOnlyNeededDeltas()
    {
        var full1 = Full(100, 0);
        var d1 = Delta(101, 150, 5);
        var d2 = Delta(151, 200, 10);
        var full2 = Full(200, 11);

        var plan = RestorePlanner.Plan([full1, d1, d2, full2], RestoreTarget.AtRevision(120));

        Assert.Equal(full1, plan.Full);
        Assert.Equal([d1], plan.Deltas);
        Assert.Equal(120, plan.StopAtRevision);
        Assert.Equal(full2, RestorePlanner.Plan([full1, d1, d2, full2], RestoreTarget.AtRevision(200)).Full);
        Assert.Empty(RestorePlanner.Plan([full1, d1], RestoreTarget.AtRevision(100)).Deltas);
    }

    [Fact]
    public void Plan_MissingDelta_IsRefusedNamingTheGap_ButEarlierTargetsWork()
    {
        var snapshots = new[] { Full(100, 0), Delta(101, 150, 5), Delta(161, 200, 10) };

        var latest = Assert.Throws<RestorePlanException>(() => RestorePlanner.Plan(snapshots, RestoreTarget.Latest));
        var past = Assert.Throws<RestorePlanException>(() => RestorePlanner.Plan(snapshots, RestoreTarget.AtRevision(170)));

        Assert.Contains("revision 151 is in no delta", latest.Message, StringComparison.Ordinal);
        Assert.Contains("--to-revision 150", latest.Hint, StringComparison.Ordinal);
        Assert.Contains("revision 151", past.Message, StringComparison.Ordinal);
        Assert.Equal(150, RestorePlanner.Plan(snapshots, RestoreTarget.AtRevision(150)).StopAtRevision);
    }

    [Fact]
    public void Plan_OutOfRangeTargetsAndEmptyStore_AreRefused()
    {
        var snapshots = new[] { Full(100, 0), Delta(101, 150, 5) };

        Assert.Contains("no full snapshot", Assert.Throws<RestorePlanException>(() => RestorePlanner.Plan([Delta(1, 5, 0)], RestoreTarget.Latest)).Message, StringComparison.Ordinal);
        Assert.Contains("before the oldest", Assert.Throws<RestorePlanException>(() => RestorePlanner.Plan(snapshots, RestoreTarget.AtRevision(99))).Message, StringComparison.Ordinal);
        Assert.Contains("past the newest", Assert.Throws<RestorePlanException>(() => RestorePlanner.Plan(snapshots, RestoreTarget.AtRevision(151))).Message, StringComparison.Ordinal);
        Assert.Contains("before the oldest", Assert.Throws<RestorePlanException>(() => RestorePlanner.Plan(snapshots, RestoreTarget.AtTime(T0.AddMinutes(-1)))).Message, StringComparison.Ordinal);
        Assert.Contains("past the restorable", Assert.Throws<RestorePlanException>(() => RestorePlanner.Plan(snapshots, RestoreTarget.AtTime(T0.AddMinutes(6)))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_Time_IncludesTheDeltaThatCrossesTheTime()
    {
        var full = Full(100, 0);
        var d1 = Delta(101, 150, 5);
        var d2 = Delta(151, 200, 10);
        var d3 = Delta(201, 250, 15);

        var plan = RestorePlanner.Plan([full, d1, d2, d3], RestoreTarget.AtTime(T0.AddMinutes(7)));

        Assert.Equal([d1, d2], plan.Deltas);
        Assert.Equal(T0.AddMinutes(7), plan.StopAtTime);
        Assert.Equal(200, plan.StopAtRevision);
    }

    [Fact]
    public void Plan_OverlappingDeltas_AreRefusedNamingBoth()
    {
        var a = Delta(101, 150, 5);
        var b = Delta(140, 160, 6);
        var ex = Assert.Throws<RestorePlanException>(() => RestorePlanner.Plan([Full(100, 0), a, b], RestoreTarget.Latest));
        Assert.Contains(a.Key, ex.Message, StringComparison.Ordinal);
        Assert.Contains(b.Key, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Chains_DescribeRestorableSpans()
    {
        var chains = RestorePlanner.Chains([Full(100, 0), Delta(101, 150, 5), Full(300, 20), Delta(301, 310, 25)]);

        Assert.Equal(2, chains.Count);
        Assert.Equal((100, 150), (chains[0].FirstRevision, chains[0].LastRevision));
        Assert.Equal(151, chains[0].GapAfter);
        Assert.Equal((300, 310), (chains[1].FirstRevision, chains[1].LastRevision));
        Assert.Null(chains[1].GapAfter);
    }
}
