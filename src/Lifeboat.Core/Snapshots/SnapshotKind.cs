namespace Lifeboat.Core.Snapshots;

/// <summary>What an etcd snapshot holds.</summary>
public enum SnapshotKind
{
    /// <summary>The whole keyspace at one revision (etcd's bbolt database plus its trailing SHA-256).</summary>
    Full,

    /// <summary>Only the changes in a contiguous revision range after a full snapshot or a previous delta.</summary>
    Delta,
}
