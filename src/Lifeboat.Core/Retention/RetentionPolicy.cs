namespace Lifeboat.Core.Retention;

/// <summary>Which full snapshots (and with them, their deltas) a store keeps.</summary>
public abstract record RetentionPolicy
{
    private RetentionPolicy()
    {
    }

    /// <summary>Keep the newest <paramref name="FullSnapshots"/> full snapshots and their deltas.</summary>
    public sealed record Limit(int FullSnapshots) : RetentionPolicy;

    /// <summary>
    /// Keep every full snapshot of the current hour, the newest of each hour for <paramref name="Hours"/> hours, of each
    /// day for <paramref name="Days"/> days and of each ISO week for <paramref name="Weeks"/> weeks; nothing older.
    /// Deltas are kept for the newest chain only (older points in time are restorable from their full snapshots).
    /// </summary>
    public sealed record Exponential(int Hours = 24, int Days = 7, int Weeks = 4) : RetentionPolicy;
}
