using k8s.Models;
using Lifeboat.Core.Retention;
using Lifeboat.Kubernetes.Models;

namespace Lifeboat.Kubernetes.Volumes;

public sealed record SnapshotDeletion(VolumeSnapshot Snapshot, string Reason);

/// <summary>
/// Which of one schedule's snapshots retention deletes, per source claim. Only snapshots that are ready to use count
/// toward the policy; the newest ready snapshot of a claim is never deleted, nor one labelled
/// <c>lifeboat.io/keep=true</c>, nor one a claim is being restored from. A snapshot that never became ready is deleted
/// only once a newer one of its claim is ready and it is older than the ready timeout; until then it
/// stays (it may still become ready) and is counted as pending. Snapshots are ordered by when they were cut (else
/// created), never by name. Pure: everything in, the plan out.
/// </summary>
public static class SnapshotRetention
{
    public static List<SnapshotDeletion> Plan(IEnumerable<VolumeSnapshot> snapshots, ISet<string> inUse, TimedRetentionPolicy policy,
        TimeSpan givenUpAfter, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(inUse);
        var deletions = new List<SnapshotDeletion>();
        var byClaim = snapshots
            .Where(s => s.Metadata.DeletionTimestamp is null && s.Spec.Source.PersistentVolumeClaimName is not null)
            .GroupBy(s => s.Spec.Source.PersistentVolumeClaimName!, StringComparer.Ordinal);
        foreach (var group in byClaim)
        {
            var ready = group.Where(s => s.Status?.ReadyToUse == true).OrderByDescending(Time).ToList();
            var newestReady = ready.FirstOrDefault();
            foreach (var (snapshot, reason) in TimedRetention.Expired(ready, Time, policy, now))
            {
                if (snapshot == newestReady || Protected(snapshot, inUse))
                {
                    continue;
                }

                deletions.Add(new SnapshotDeletion(snapshot, reason));
            }

            if (newestReady is null)
            {
                continue;
            }

            foreach (var pending in group.Where(s => s.Status?.ReadyToUse != true))
            {
                if (Time(pending) < Time(newestReady) && now - Time(pending) > givenUpAfter && !Protected(pending, inUse))
                {
                    var error = pending.Status?.Error?.Message is { Length: > 0 } message ? $"; last error: {message}" : "";
                    deletions.Add(new SnapshotDeletion(pending, $"never became ready, and the newer {newestReady.Metadata.Name} is ready{error}"));
                }
            }
        }

        return deletions.OrderBy(d => d.Snapshot.Spec.Source.PersistentVolumeClaimName, StringComparer.Ordinal).ThenBy(d => Time(d.Snapshot)).ToList();
    }

    /// <summary>When the storage system cut it, else when the object was created.</summary>
    public static DateTimeOffset Time(VolumeSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return snapshot.Status?.CreationTime ?? snapshot.Metadata.CreationTimestamp.Instant() ?? DateTimeOffset.MinValue;
    }

    /// <summary>The snapshots claims are being provisioned from (claims not yet Bound whose data source names them).</summary>
    public static HashSet<string> InUse(IEnumerable<V1PersistentVolumeClaim> claims) =>
        claims.Where(c => c.Status?.Phase != "Bound")
            .Select(c => c.Spec.DataSourceRef is { Kind: "VolumeSnapshot", NamespaceProperty: null } r ? r.Name
                : c.Spec.DataSource is { Kind: "VolumeSnapshot" } d ? d.Name : null)
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);

    private static bool Protected(VolumeSnapshot snapshot, ISet<string> inUse) =>
        string.Equals(snapshot.Metadata.Label(SnapshotNames.KeepLabel), "true", StringComparison.OrdinalIgnoreCase) || inUse.Contains(snapshot.Metadata.Name!);
}
