using Lifeboat.Core.Storage;

namespace Lifeboat.Core.Snapshots;

/// <summary>An etcd snapshot found in a store.</summary>
public sealed record StoredSnapshot(SnapshotName Name, StoredObject Stored)
{
    public string Key => Stored.Key;
}
