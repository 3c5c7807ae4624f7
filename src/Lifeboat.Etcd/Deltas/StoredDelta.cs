using Lifeboat.Core.Snapshots;

namespace Lifeboat.Etcd.Deltas;

/// <summary>A delta written to the store.</summary>
public sealed record StoredDelta(string Key, SnapshotName Name, long StoredBytes, long Records, long Changes);
