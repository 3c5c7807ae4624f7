using Lifeboat.Etcd.Init;

namespace Lifeboat.Etcd.Tests.Init;

/// <summary>The decision table of init, without etcd: every condition against what the store holds and whether peers run.</summary>
public sealed class InitPolicyTests
{
    private static DataDirReport Report(DataDirCondition condition, long? revision = null) => new(condition, $"dir is {condition}", revision);

    [Theory]
    [InlineData(DataDirCondition.Missing, null, 100L, 1, 0, InitAction.Restore)]
    [InlineData(DataDirCondition.Empty, null, 100L, 1, 0, InitAction.Restore)]
    [InlineData(DataDirCondition.Missing, null, null, 1, 0, InitAction.Keep)] // a new cluster: nothing to restore, nothing lost
    [InlineData(DataDirCondition.Empty, null, 100L, 3, 2, InitAction.Refuse)] // a running cluster: replace the member instead
    [InlineData(DataDirCondition.Missing, null, 100L, 3, 0, InitAction.Restore)] // the whole cluster is lost
    [InlineData(DataDirCondition.DatabaseDamaged, null, 100L, 1, 0, InitAction.Restore)]
    [InlineData(DataDirCondition.MemberBroken, null, 100L, 1, 0, InitAction.Restore)]
    [InlineData(DataDirCondition.DatabaseDamaged, null, null, 1, 0, InitAction.Refuse)] // nothing to restore from
    [InlineData(DataDirCondition.MemberBroken, null, 100L, 3, 1, InitAction.Refuse)]
    [InlineData(DataDirCondition.MemberMismatch, null, 100L, 1, 0, InitAction.Refuse)]
    [InlineData(DataDirCondition.Healthy, 100L, 100L, 1, 0, InitAction.Keep)]
    [InlineData(DataDirCondition.Healthy, 150L, 100L, 1, 0, InitAction.Keep)] // the store is behind: never roll back
    [InlineData(DataDirCondition.Healthy, 50L, 100L, 1, 0, InitAction.Restore)] // the member lost data
    [InlineData(DataDirCondition.Healthy, 50L, 100L, 3, 2, InitAction.Keep)] // a follower behind catches up by raft
    [InlineData(DataDirCondition.Healthy, 50L, null, 1, 0, InitAction.Keep)]
    public void Decide_FollowsTheTable(DataDirCondition condition, long? revision, long? storeNewest, int clusterSize, int peersAlive, InitAction expected)
    {
        var decision = InitPolicy.Decide(Report(condition, revision), new InitContext(storeNewest, clusterSize, peersAlive));

        Assert.Equal(expected, decision.Action);
        Assert.False(string.IsNullOrWhiteSpace(decision.Reason));
        if (expected == InitAction.Refuse)
        {
            Assert.False(string.IsNullOrWhiteSpace(decision.Hint));
        }
    }

    [Fact]
    public void Decide_StoreBehind_SaysSoInTheReason()
    {
        var decision = InitPolicy.Decide(Report(DataDirCondition.Healthy, 150), new InitContext(100, 1, 0));

        Assert.Contains("store is behind", decision.Reason, StringComparison.Ordinal);
    }
}
