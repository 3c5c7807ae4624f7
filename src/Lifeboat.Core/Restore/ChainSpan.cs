using Lifeboat.Core.Snapshots;

namespace Lifeboat.Core.Restore;

/// <summary>A full snapshot and the contiguous deltas after it: every revision in [FirstRevision, LastRevision] is restorable.</summary>
/// <param name="Full">The chain's full snapshot.</param>
/// <param name="Deltas">Its deltas, contiguous, in order.</param>
/// <param name="GapAfter">When deltas exist beyond a gap: the first missing revision; otherwise null.</param>
public sealed record ChainSpan(StoredSnapshot Full, IReadOnlyList<StoredSnapshot> Deltas, long? GapAfter)
{
    public long FirstRevision => Full.Name.LastRevision;

    public long LastRevision => Deltas.Count == 0 ? Full.Name.LastRevision : Deltas[^1].Name.LastRevision;

    public DateTimeOffset FirstTime => Full.Name.CreatedAt;

    /// <summary>When the newest delta was written: an upper bound of the times restorable in this chain.</summary>
    public DateTimeOffset LastTime => Deltas.Count == 0 ? Full.Name.CreatedAt : Deltas[^1].Name.CreatedAt;
}
