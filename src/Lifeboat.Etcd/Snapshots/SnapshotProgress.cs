namespace Lifeboat.Etcd.Snapshots;

/// <summary>Progress of a snapshot stream.</summary>
/// <param name="Bytes">Database bytes received so far.</param>
/// <param name="TotalBytes">Database size announced by etcd, once known.</param>
public readonly record struct SnapshotProgress(long Bytes, long? TotalBytes);
