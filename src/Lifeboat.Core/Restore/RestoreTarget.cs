namespace Lifeboat.Core.Restore;

/// <summary>Which point a restore brings etcd back to.</summary>
public abstract record RestoreTarget
{
    private RestoreTarget()
    {
    }

    /// <summary>The newest restorable point.</summary>
    public static RestoreTarget Latest { get; } = new LatestTarget();

    /// <summary>Exactly this etcd revision.</summary>
    public static RestoreTarget AtRevision(long revision) =>
        revision >= 1 ? new RevisionTarget(revision) : throw new ArgumentOutOfRangeException(nameof(revision), "revisions start at 1");

    /// <summary>The last revision observed at or before this time.</summary>
    public static RestoreTarget AtTime(DateTimeOffset time) => new TimeTarget(time.ToUniversalTime());

    public sealed record LatestTarget : RestoreTarget;

    public sealed record RevisionTarget(long Revision) : RestoreTarget;

    public sealed record TimeTarget(DateTimeOffset Time) : RestoreTarget;
}
