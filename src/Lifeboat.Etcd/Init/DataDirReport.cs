namespace Lifeboat.Etcd.Init;

/// <summary>What an etcd data directory was found to be.</summary>
public enum DataDirCondition
{
    /// <summary>The directory does not exist.</summary>
    Missing,

    /// <summary>The directory exists and holds nothing.</summary>
    Empty,

    /// <summary>Structure, membership and database are sound.</summary>
    Healthy,

    /// <summary>The bbolt database is truncated, corrupted, or etcd refuses to start on it.</summary>
    DatabaseDamaged,

    /// <summary>The member directory is incomplete: no member, wal or snap directory, no WAL file, or an unreadable WAL.</summary>
    MemberBroken,

    /// <summary>The directory is sound but belongs to another member or cluster than the flags describe.</summary>
    MemberMismatch,
}

/// <summary>The finding on a data directory, with the reason in words and what was learned on the way.</summary>
/// <param name="Revision">The revision its database holds (after WAL replay when it was proved by starting etcd).</param>
/// <param name="Proved">True when etcd was started on a copy and answered Status and HashKV.</param>
public sealed record DataDirReport(DataDirCondition Condition, string Reason, long? Revision = null, ulong? MemberId = null,
    ulong? ClusterId = null, bool Proved = false)
{
    public bool IsDamaged => Condition is DataDirCondition.DatabaseDamaged or DataDirCondition.MemberBroken;
}
