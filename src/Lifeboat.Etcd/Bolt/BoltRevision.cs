namespace Lifeboat.Etcd.Bolt;

/// <summary>What <see cref="BoltRevisionScanner"/> found in an etcd database.</summary>
/// <param name="Revision">The revision etcd reports after restoring this database.</param>
/// <param name="NewestKeyRevision">Newest main revision in the <c>key</c> bucket (0 when it is empty).</param>
/// <param name="CompactedRevision">The <c>finishedCompactRev</c> of the <c>meta</c> bucket (0 when never compacted).</param>
/// <param name="PageSize">bbolt page size in bytes.</param>
/// <param name="TransactionId">bbolt transaction id of the current meta page.</param>
public sealed record BoltRevision(long Revision, long NewestKeyRevision, long CompactedRevision, int PageSize, long TransactionId);
