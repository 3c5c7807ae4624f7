using k8s.Models;
using Lifeboat.Core.Retention;
using Lifeboat.Kubernetes.Models;
using Lifeboat.Kubernetes.Volumes;

namespace Lifeboat.Kubernetes.Tests.Volumes;

/// <summary>The retention edge cases the Kyma script and snapscheduler get wrong (snapscheduler #688, #667, #346).</summary>
public sealed class SnapshotRetentionTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private static readonly HashSet<string> NoneInUse = [];
    private static readonly TimeSpan GiveUp = TimeSpan.FromHours(2);

    private static VolumeSnapshot Snap(string name, double hoursAgo, bool ready = true, string pvc = "data", string? error = null, bool keep = false) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = "app",
            CreationTimestamp = Now.AddHours(-hoursAgo).UtcDateTime,
            Labels = keep ? new Dictionary<string, string> { [SnapshotNames.KeepLabel] = "true" } : null,
        },
        Spec = new VolumeSnapshotSpec { Source = new VolumeSnapshotSource { PersistentVolumeClaimName = pvc } },
        Status = new VolumeSnapshotStatus
        {
            ReadyToUse = ready,
            CreationTime = ready ? Now.AddHours(-hoursAgo) : null,
            Error = error is null ? null : new VolumeSnapshotError { Message = error },
        },
    };

    private static List<string> Deleted(IEnumerable<VolumeSnapshot> snapshots, TimedRetentionPolicy policy, ISet<string>? inUse = null) =>
        SnapshotRetention.Plan(snapshots, inUse ?? NoneInUse, policy, GiveUp, Now).Select(d => d.Snapshot.Metadata.Name!).ToList();

    [Fact]
    public void KeepLast_CountsOnlyReadySnapshots_SoFailingOnesNeverPushOutTheLastGoodOne()
    {
        var snapshots = new[] { Snap("good", 5), Snap("fail-1", 3, ready: false, error: "quota"), Snap("fail-2", 2, ready: false), Snap("fail-3", 1, ready: false) };

        Assert.Empty(Deleted(snapshots, new TimedRetentionPolicy { KeepLast = 1 }));
    }

    [Fact]
    public void NoneReadyYet_NothingIsDeleted()
    {
        var snapshots = new[] { Snap("a", 30, ready: false), Snap("b", 20, ready: false), Snap("c", 10, ready: false) };

        Assert.Empty(Deleted(snapshots, new TimedRetentionPolicy { KeepLast = 1, MaxAge = TimeSpan.FromHours(1) }));
    }

    [Fact]
    public void NeverReady_GoesOnceANewerOneIsReadyAndItIsPastTheReadyTimeout()
    {
        var snapshots = new[] { Snap("stuck", 5, ready: false, error: "rpc error"), Snap("recent-pending", 1, ready: false), Snap("good", 3) };

        var plan = SnapshotRetention.Plan(snapshots, NoneInUse, new TimedRetentionPolicy { KeepLast = 5 }, GiveUp, Now);

        var only = Assert.Single(plan);
        Assert.Equal("stuck", only.Snapshot.Metadata.Name);
        Assert.Contains("never became ready", only.Reason, StringComparison.Ordinal);
        Assert.Contains("rpc error", only.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TheNewestReadySnapshot_SurvivesEvenPastMaxAge()
    {
        var snapshots = new[] { Snap("old", 100), Snap("older", 200) };

        Assert.Equal(["older"], Deleted(snapshots, new TimedRetentionPolicy { MaxAge = TimeSpan.FromHours(24) }));
    }

    [Fact]
    public void KeepLabel_AndInUse_AreNeverDeleted()
    {
        var snapshots = new[] { Snap("new", 1), Snap("kept", 2, keep: true), Snap("restoring", 3), Snap("plain", 4) };

        Assert.Equal(["plain"], Deleted(snapshots, new TimedRetentionPolicy { KeepLast = 1 }, new HashSet<string> { "restoring" }));
    }

    [Fact]
    public void Order_IsByCreationTime_NeverByName()
    {
        // Names that sort the wrong way round: "z-..." is the oldest, "a-..." the newest.
        var snapshots = new[] { Snap("z-first", 3), Snap("m-second", 2), Snap("a-third", 1) };

        Assert.Equal(["z-first"], Deleted(snapshots, new TimedRetentionPolicy { KeepLast = 2 }));
    }

    [Fact]
    public void Retention_IsPerClaim()
    {
        var snapshots = new[] { Snap("d1", 1), Snap("d2", 2), Snap("l1", 1, pvc: "logs"), Snap("l2", 2, pvc: "logs") };

        Assert.Equal(["l2", "d2"], Deleted(snapshots, new TimedRetentionPolicy { KeepLast = 1 }).OrderBy(n => n[0] == 'd').ToList());
    }

    [Fact]
    public void InUse_IsWhatPendingClaimsAreProvisionedFrom()
    {
        var pending = new V1PersistentVolumeClaim
        {
            Spec = new V1PersistentVolumeClaimSpec { DataSourceRef = new V1TypedObjectReference { ApiGroup = "snapshot.storage.k8s.io", Kind = "VolumeSnapshot", Name = "s1" } },
            Status = new V1PersistentVolumeClaimStatus { Phase = "Pending" },
        };
        var bound = new V1PersistentVolumeClaim
        {
            Spec = new V1PersistentVolumeClaimSpec { DataSource = new V1TypedLocalObjectReference { ApiGroup = "snapshot.storage.k8s.io", Kind = "VolumeSnapshot", Name = "s2" } },
            Status = new V1PersistentVolumeClaimStatus { Phase = "Bound" },
        };

        Assert.Equal(["s1"], SnapshotRetention.InUse([pending, bound]));
    }
}
