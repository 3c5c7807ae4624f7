using Lifeboat.Core.Snapshots;

namespace Lifeboat.Core.Restore;

/// <summary>What a restore reads: one full snapshot, then deltas in order, stopping at the target.</summary>
/// <param name="Full">The full snapshot restored first.</param>
/// <param name="Deltas">The deltas replayed after it, contiguous; the first may start at or before the full's revision.</param>
/// <param name="StopAtRevision">Replay stops after this revision; for a time target, the chain's end (the time decides first).</param>
/// <param name="StopAtTime">For a time target: replay stops before the first revision observed after this time.</param>
public sealed record RestorePlan(StoredSnapshot Full, IReadOnlyList<StoredSnapshot> Deltas, long StopAtRevision, DateTimeOffset? StopAtTime)
{
    /// <summary>Revisions at or below this are already in the full snapshot and are skipped on replay.</summary>
    public long FullRevision => Full.Name.LastRevision;
}
