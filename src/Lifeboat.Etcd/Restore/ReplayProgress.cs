namespace Lifeboat.Etcd.Restore;

/// <summary>The steps of a restore, in order; each reports its own progress.</summary>
public enum RestorePhase
{
    /// <summary>Reading and checking every delta the plan needs (bytes of stored deltas).</summary>
    Verify,

    /// <summary>Decompressing and checking the full snapshot (bytes of the stored snapshot).</summary>
    Extract,

    /// <summary>Writing the database at the target: the snapshot's buckets, then the deltas' revisions appended.</summary>
    Replay,

    /// <summary>Laying out the member directory with the requested membership and moving it into place.</summary>
    Layout,
}

/// <summary>
/// Restore progress: the phase, and within it stored bytes read (verify, extract) or revisions applied of the
/// (estimated) total with the changes they held (replay).
/// </summary>
public readonly record struct ReplayProgress(long Revisions, long Changes, long? TotalRevisions)
{
    public RestorePhase Phase { get; init; } = RestorePhase.Replay;

    public long Bytes { get; init; }

    public long? TotalBytes { get; init; }

    public static ReplayProgress Reading(RestorePhase phase, long bytes, long total) => new(0, 0, null) { Phase = phase, Bytes = bytes, TotalBytes = total };

    public static ReplayProgress Step(RestorePhase phase) => new(0, 0, null) { Phase = phase };
}
