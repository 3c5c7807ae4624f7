namespace Lifeboat.Etcd.Init;

/// <summary>What init does with a data directory.</summary>
public enum InitAction
{
    /// <summary>Leave the directory as it is.</summary>
    Keep,

    /// <summary>Restore the store's newest point into it (keeping what was there aside).</summary>
    Restore,

    /// <summary>Change nothing and fail: a person has to look.</summary>
    Refuse,
}

/// <summary>The decision and why, in one line each.</summary>
public sealed record InitDecision(InitAction Action, string Reason, string? Hint = null);

/// <summary>The inputs of a decision besides the data directory's report.</summary>
/// <param name="StoreNewestRevision">Last revision of the store's newest restorable chain; null when it has none.</param>
/// <param name="ClusterSize">Members in --initial-cluster.</param>
/// <param name="PeersAlive">Other members answering on their peer URLs (0 for a single member).</param>
public sealed record InitContext(long? StoreNewestRevision, int ClusterSize, int PeersAlive);

/// <summary>
/// The pure policy of <c>lifeboat etcd init</c>: from what the data directory is and what the store holds, keep,
/// restore or refuse. Never rolls data back silently, never restores a member out of a cluster that is still running
/// (raft, not a snapshot, brings such a member back), and never touches a directory when there is nothing to restore.
/// </summary>
public static class InitPolicy
{
    private const string ReplaceMemberHint =
        "the other members are running: replace this member instead (etcdctl member remove, member add, then start it on an empty data " +
        "directory with --initial-cluster-state existing; docs/runbook.md)";

    public static InitDecision Decide(DataDirReport report, InitContext context)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(context);
        var newest = context.StoreNewestRevision;
        var clusterRunning = context.ClusterSize > 1 && context.PeersAlive > 0;
        switch (report.Condition)
        {
            case DataDirCondition.Missing or DataDirCondition.Empty:
                if (clusterRunning)
                {
                    return new InitDecision(InitAction.Refuse,
                        $"the data directory is {Describe(report.Condition)} and {context.PeersAlive} other member(s) are running: restoring a snapshot would not rejoin them",
                        ReplaceMemberHint);
                }

                return newest is { } n
                    ? new InitDecision(InitAction.Restore, $"the data directory is {Describe(report.Condition)}: restoring the store's newest point (revision {n})")
                    : new InitDecision(InitAction.Keep, $"the data directory is {Describe(report.Condition)} and the store has no snapshot: etcd starts a new, empty member");

            case DataDirCondition.DatabaseDamaged or DataDirCondition.MemberBroken:
                if (newest is null)
                {
                    return new InitDecision(InitAction.Refuse, $"{report.Reason}, and the store has no snapshot to restore from",
                        "the data directory was left as it is; repair it by hand, or point --store at the store that holds this cluster's snapshots");
                }

                return clusterRunning
                    ? new InitDecision(InitAction.Refuse, $"{report.Reason}; {context.PeersAlive} other member(s) are running", ReplaceMemberHint)
                    : new InitDecision(InitAction.Restore, $"{report.Reason}: restoring the store's newest point (revision {newest})");

            case DataDirCondition.MemberMismatch:
                return new InitDecision(InitAction.Refuse, report.Reason,
                    "start etcd with the flags this data directory was created with, or restore into a new directory");

            case DataDirCondition.Healthy when newest is null:
                return new InitDecision(InitAction.Keep, $"healthy at revision {report.Revision}; the store has no snapshot yet");

            case DataDirCondition.Healthy when report.Revision < newest:
                return clusterRunning || context.ClusterSize > 1
                    ? new InitDecision(InitAction.Keep,
                        $"healthy at revision {report.Revision}, behind the store's {newest}: a member of a {context.ClusterSize}-member cluster catches up from the leader")
                    : new InitDecision(InitAction.Restore,
                        $"the data holds revision {report.Revision} but the store reaches {newest}: the member lost data; restoring the store's newest point");

            case DataDirCondition.Healthy when report.Revision > newest:
                return new InitDecision(InitAction.Keep,
                    $"healthy at revision {report.Revision}, newer than the store's newest point ({newest}): the store is behind; keeping the data, never rolling it back");

            default:
                return new InitDecision(InitAction.Keep, $"healthy at revision {report.Revision}, as far as the store's newest point");
        }
    }

    private static string Describe(DataDirCondition condition) => condition == DataDirCondition.Missing ? "missing" : "empty";
}
