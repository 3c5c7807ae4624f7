using Lifeboat.Core.Storage;

namespace Lifeboat.Core.Retention;

/// <summary>Carries out a <see cref="RetentionPlan"/>: deletes oldest first, so an interrupted run leaves a contiguous newer part.</summary>
public static class RetentionExecutor
{
    /// <returns>How many objects were deleted.</returns>
    public static async Task<int> ApplyAsync(ISnapshotStore store, RetentionPlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(plan);
        var deleted = 0;
        foreach (var deletion in plan.Delete)
        {
            await store.DeleteAsync(deletion.Snapshot.Key, cancellationToken);
            deleted++;
        }

        return deleted;
    }
}
