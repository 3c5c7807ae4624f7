using Lifeboat.Core.Snapshots;

namespace Lifeboat.Etcd.Deltas;

/// <summary>A delta written to the store.</summary>
/// <param name="WriteDuration">Time to encode and store it (not the period it covers).</param>
public sealed record StoredDelta(string Key, SnapshotName Name, long StoredBytes, long Records, long Changes, TimeSpan WriteDuration);
