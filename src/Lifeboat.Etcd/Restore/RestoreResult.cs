namespace Lifeboat.Etcd.Restore;

/// <summary>A completed restore.</summary>
/// <param name="DataDir">The data directory now holding the restored member.</param>
/// <param name="Revision">The etcd revision the data directory holds.</param>
/// <param name="FullSnapshot">Key of the full snapshot restored.</param>
/// <param name="DeltasReplayed">How many delta files were read for replay.</param>
/// <param name="RevisionsReplayed">Revisions replayed on top of the full snapshot.</param>
/// <param name="ChangesReplayed">Key changes in those revisions.</param>
/// <param name="ReplayDuration">Time spent replaying.</param>
/// <param name="Duration">Total time, verification included.</param>
/// <param name="ReplacedDataDir">Where the previous contents of the data directory were moved (with --force), or null.</param>
public sealed record RestoreResult(
    string DataDir,
    long Revision,
    string FullSnapshot,
    int DeltasReplayed,
    long RevisionsReplayed,
    long ChangesReplayed,
    TimeSpan ReplayDuration,
    TimeSpan Duration,
    string? ReplacedDataDir)
{
    /// <summary>What could not be checked (files written before Lifeboat recorded their origin); the restore went ahead.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The restored member's id, as etcd derives it from the member flags.</summary>
    public ulong MemberId { get; init; }

    /// <summary>The id of the cluster the restored member belongs to (a new cluster: the flags', not the source's).</summary>
    public ulong ClusterId { get; init; }
}
