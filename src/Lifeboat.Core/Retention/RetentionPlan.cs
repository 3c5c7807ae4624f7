using Lifeboat.Core.Snapshots;

namespace Lifeboat.Core.Retention;

/// <summary>A snapshot to delete and why.</summary>
public sealed record RetentionDeletion(StoredSnapshot Snapshot, string Reason);

/// <summary>What retention keeps and deletes; deletions are ordered oldest first.</summary>
public sealed record RetentionPlan(IReadOnlyList<StoredSnapshot> Keep, IReadOnlyList<RetentionDeletion> Delete);
