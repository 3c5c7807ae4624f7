namespace Lifeboat.Etcd.Restore;

/// <summary>Replay progress: revisions applied of the (estimated) total, and the changes they held.</summary>
public readonly record struct ReplayProgress(long Revisions, long Changes, long? TotalRevisions);
