namespace Lifeboat.Etcd.Deltas;

/// <summary>What a one-shot capture did.</summary>
/// <param name="AfterRevision">The chain's last revision before the capture.</param>
/// <param name="ReachedRevision">The chain's last revision after it (equal to <paramref name="AfterRevision"/> when nothing changed).</param>
/// <param name="Deltas">The deltas written, in order; empty when nothing changed.</param>
public sealed record DeltaCaptureResult(long AfterRevision, long ReachedRevision, IReadOnlyList<StoredDelta> Deltas);
