using Lifeboat.Core.Storage;

namespace Lifeboat.Core.Snapshots;

/// <summary>Reads the etcd snapshots of a store through <see cref="SnapshotLayout"/>.</summary>
public static class SnapshotCatalog
{
    /// <summary>Every etcd snapshot in the store, in chain order (<see cref="SnapshotLayout.CompareChainOrder"/>).</summary>
    public static async Task<IReadOnlyList<StoredSnapshot>> ListAsync(ISnapshotStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var result = new List<StoredSnapshot>();
        await foreach (var obj in store.ListAsync(SnapshotLayout.Prefix, cancellationToken))
        {
            if (SnapshotLayout.TryParse(obj.Key, out var name))
            {
                result.Add(new StoredSnapshot(name, obj));
            }
        }

        result.Sort((a, b) => SnapshotLayout.CompareChainOrder(a.Name, b.Name));
        return result;
    }
}
