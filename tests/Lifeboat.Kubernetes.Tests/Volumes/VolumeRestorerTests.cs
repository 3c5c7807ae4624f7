using System.Text.Json.Nodes;
using k8s.Models;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Models;
using Lifeboat.Kubernetes.Volumes;
using Lifeboat.Testing.Kube;

namespace Lifeboat.Kubernetes.Tests.Volumes;

public sealed class VolumeRestorerTests : VolumeTestBase
{
    private VolumeRestorer Restorer() => new(Client, Log, Clock) { PollInterval = TimeSpan.FromMilliseconds(50) };

    private static RestoreOptions Options(string snapshot, string? size = null, string? storageClass = null, bool force = false) => new()
    {
        Namespace = Ns,
        Snapshot = snapshot,
        Size = size is null ? null : new ResourceQuantity(size),
        StorageClass = storageClass,
        BindTimeout = TimeSpan.FromSeconds(10),
        StopTimeout = TimeSpan.FromSeconds(10),
        SafetySnapshot = QuickWaits,
        Force = force,
    };

    /// <summary>A ready snapshot named <paramref name="name"/> of the claim's current data.</summary>
    private async Task SnapshotAsync(string claim, string name)
    {
        var snapshotter = Snapshotter();
        var (snapshot, _) = await snapshotter.CreateAsync(await snapshotter.CheckSourceAsync(Ns, claim, null, default), name, new Dictionary<string, string>(), default);
        Assert.Equal(SnapshotOutcome.Ready, (await snapshotter.WaitAsync(snapshot, QuickWaits, default)).Outcome);
    }

    [Fact]
    public async Task ToNewClaim_BringsBackTheData_WithDataSourceRef_TheSourcesModeAndAtLeastRestoreSize()
    {
        Cluster.AddClaim(Ns, "db", size: "2Gi", data: "v1", volumeMode: "Block");
        await SnapshotAsync("db", "db-snap");
        Cluster.WriteVolume(Ns, "db", "v2");

        var restored = await Restorer().RestoreToNewAsync(Options("db-snap"), "db-copy", default);

        Assert.Equal("Bound", restored.Status!.Phase);
        Assert.Equal("v1", Cluster.ReadVolume(Ns, "db-copy"));
        Assert.Equal("v2", Cluster.ReadVolume(Ns, "db"));
        Assert.Equal("2Gi", restored.Spec.Resources!.Requests!["storage"]);
        Assert.Equal("Block", restored.Spec.VolumeMode);
        Assert.Equal(new V1TypedObjectReference { ApiGroup = "snapshot.storage.k8s.io", Kind = "VolumeSnapshot", Name = "db-snap" }, restored.Spec.DataSourceRef);
        Assert.Equal("app/db-snap", restored.Metadata.Annotation(VolumeRestorer.RestoredFromAnnotation));
    }

    [Fact]
    public async Task ToNewClaim_AfterTheSourceIsGone_UsesTheSnapshotAlone()
    {
        Cluster.AddClaim(Ns, "db", size: "3Gi", data: "v1");
        await SnapshotAsync("db", "db-snap");
        await Client.DeleteAsync(KubeResource.PersistentVolumeClaims, Ns, "db", default);
        await Lifeboat.Testing.Eventually.TrueAsync(() => Server.Peek(KubeResource.PersistentVolumeClaims, Ns, "db") is null);

        var restored = await Restorer().RestoreToNewAsync(Options("db-snap"), "db", default);

        Assert.Equal("3Gi", restored.Spec.Resources!.Requests!["storage"]);
        Assert.Equal("v1", Cluster.ReadVolume(Ns, "db"));
    }

    [Fact]
    public async Task Refusals_ChangeNothing_SmallerThanRestoreSize_TargetExists_NotReady_AnotherDriversClass()
    {
        Cluster.AddClaim(Ns, "db", size: "2Gi", data: "v1");
        await SnapshotAsync("db", "db-snap");
        var restorer = Restorer();

        var small = await Assert.ThrowsAsync<VolumeRefusedException>(() => restorer.RestoreToNewAsync(Options("db-snap", size: "1Gi"), "copy", default));
        Assert.Contains("--size 1Gi is smaller than the snapshot's restoreSize 2Gi", small.Message, StringComparison.Ordinal);
        var exists = await Assert.ThrowsAsync<VolumeRefusedException>(() => restorer.RestoreToNewAsync(Options("db-snap"), "db", default));
        Assert.Contains("PVC app/db already exists", exists.Message, StringComparison.Ordinal);
        Assert.Contains("--in-place --pvc db", exists.Hint, StringComparison.Ordinal);

        Cluster.SnapshotsOf["db"] = new SnapshotBehavior { FailWith = "quota exceeded" };
        await Client.CreateAsync(KubeResource.VolumeSnapshots, Ns, new VolumeSnapshot
        {
            Metadata = new V1ObjectMeta { Name = "broken" },
            Spec = new VolumeSnapshotSpec { Source = new VolumeSnapshotSource { PersistentVolumeClaimName = "db" } },
        }, default);
        await Lifeboat.Testing.Eventually.TrueAsync(() => Server.Peek(KubeResource.VolumeSnapshots, Ns, "broken")?["status"]?["error"] is not null);
        var notReady = await Assert.ThrowsAsync<VolumeRefusedException>(() => restorer.RestoreToNewAsync(Options("broken"), "copy", default));
        Assert.Contains("is not ready to use; the controller reports: quota exceeded", notReady.Message, StringComparison.Ordinal);

        Server.Seed(KubeResource.StorageClasses, JsonNode.Parse("""{"metadata":{"name":"nfs"},"provisioner":"nfs.csi.k8s.io"}""")!.AsObject());
        var driver = await Assert.ThrowsAsync<VolumeRefusedException>(() => restorer.RestoreToNewAsync(Options("db-snap", storageClass: "nfs"), "copy", default));
        Assert.Contains("provisioned by nfs.csi.k8s.io, but the snapshot was taken by csi.test.lifeboat", driver.Message, StringComparison.Ordinal);
        Assert.Null(Server.Peek(KubeResource.PersistentVolumeClaims, Ns, "copy"));
    }

    [Fact]
    public async Task AClaimThatDoesNotBind_FailsAtTheBindTimeout_ShowingTheProvisionersEvent()
    {
        Cluster.AddClaim(Ns, "db", data: "v1");
        await SnapshotAsync("db", "db-snap");
        Cluster.ProvisioningFailure = "rpc error: code = ResourceExhausted desc = zone out of capacity";

        var failed = await Assert.ThrowsAsync<VolumeOperationFailedException>(() =>
            Restorer().RestoreToNewAsync(Options("db-snap") with { BindTimeout = TimeSpan.FromMilliseconds(500) }, "copy", default));

        Assert.Contains("PVC app/copy is not Bound after", failed.Message, StringComparison.Ordinal);
        Assert.Contains("zone out of capacity", failed.Message, StringComparison.Ordinal);
        Assert.Contains("warning: PVC app/copy: ProvisioningFailed: rpc error", Log.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InPlace_ScalesDown_TakesASafetySnapshot_RecreatesTheClaim_AndScalesBack()
    {
        Cluster.AddClaim(Ns, "db", data: "good");
        Cluster.AddDeployment(Ns, "api", "db", replicas: 2);
        await Lifeboat.Testing.Eventually.TrueAsync(() => Server.All(KubeResource.Pods, Ns).Count == 2);
        await SnapshotAsync("db", "db-good");
        Cluster.WriteVolume(Ns, "db", "corrupted");
        var oldUid = (string)Server.Peek(KubeResource.PersistentVolumeClaims, Ns, "db")!["metadata"]!["uid"]!;

        await Restorer().RestoreInPlaceAsync(Options("db-good"), "db", default);

        Assert.Equal("good", Cluster.ReadVolume(Ns, "db"));
        var claim = Server.Peek(KubeResource.PersistentVolumeClaims, Ns, "db")!;
        Assert.NotEqual(oldUid, (string)claim["metadata"]!["uid"]!);
        var deployment = Server.Peek(KubeResource.Deployments, Ns, "api")!;
        Assert.Equal(2, deployment["spec"]!["replicas"]!.GetValue<int>());
        Assert.Null(deployment["metadata"]!["annotations"]?[VolumeRestorer.ReplicasAnnotation]);
        var safety = Server.All(KubeResource.VolumeSnapshots, Ns).Single(s => ((string)s["metadata"]!["name"]!).StartsWith("db-pre-restore-", StringComparison.Ordinal));
        Assert.Equal("true", (string?)safety["metadata"]!["labels"]![SnapshotNames.KeepLabel]);
        var content = Server.Peek(KubeResource.VolumeSnapshotContents, null, (string)safety["status"]!["boundVolumeSnapshotContentName"]!)!;
        Assert.Equal("corrupted", (string?)content["metadata"]!["annotations"]![ClusterSimulator.DataAnnotation]);
        foreach (var step in new[] { "scaled Deployment api from 2 to 0", "safety snapshot app/db-pre-restore-", "deleting PVC app/db", "creating PVC app/db from VolumeSnapshot db-good", "scaled Deployment api back to 2" })
        {
            Assert.Contains(step, Log.Text, StringComparison.Ordinal);
        }

        await Lifeboat.Testing.Eventually.TrueAsync(() => Server.All(KubeResource.Pods, Ns).Count == 2);
    }

    [Fact]
    public async Task InPlace_AStatefulSetsClaim()
    {
        Cluster.AddStatefulSet(Ns, "web", replicas: 1);
        await Lifeboat.Testing.Eventually.TrueAsync(() => Server.Peek(KubeResource.PersistentVolumeClaims, Ns, "data-web-0")?["status"]?["phase"]?.ToString() == "Bound");
        Cluster.WriteVolume(Ns, "data-web-0", "good");
        await SnapshotAsync("data-web-0", "web-good");
        Cluster.WriteVolume(Ns, "data-web-0", "bad");

        await Restorer().RestoreInPlaceAsync(Options("web-good"), "data-web-0", default);

        Assert.Equal("good", Cluster.ReadVolume(Ns, "data-web-0"));
        Assert.Contains("scaled StatefulSet web from 1 to 0", Log.Text, StringComparison.Ordinal);
        Assert.Equal(1, Server.Peek(KubeResource.StatefulSets, Ns, "web")!["spec"]!["replicas"]!.GetValue<int>());
    }

    [Fact]
    public async Task InPlace_PodsOutsideAnyWorkload_AreARefusal_UnlessForced()
    {
        Cluster.AddClaim(Ns, "db", data: "good");
        await SnapshotAsync("db", "db-good");
        Server.Seed(KubeResource.Pods, JsonNode.Parse("""
            {"metadata":{"name":"debug-shell","namespace":"app"},
             "spec":{"volumes":[{"name":"d","persistentVolumeClaim":{"claimName":"db"}}]},"status":{"phase":"Running"}}
            """)!.AsObject());

        var refused = await Assert.ThrowsAsync<VolumeRefusedException>(() => Restorer().RestoreInPlaceAsync(Options("db-good"), "db", default));

        Assert.Contains("pods debug-shell mount PVC app/db and are not managed by a Deployment or StatefulSet", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Server.All(KubeResource.VolumeSnapshots, Ns), s => ((string)s["metadata"]!["name"]!).Contains("pre-restore", StringComparison.Ordinal));

        // Forced, it waits for the pod to go (here: someone deletes it) and then restores.
        var restore = Restorer().RestoreInPlaceAsync(Options("db-good", force: true), "db", default);
        await Task.Delay(300);
        Server.Remove(KubeResource.Pods, Ns, "debug-shell");
        await restore;
        Assert.Equal("good", Cluster.ReadVolume(Ns, "db"));
    }

    [Fact]
    public async Task InPlace_WhenTheSafetySnapshotFails_NothingIsDeleted_AndTheReplicasComeBack()
    {
        Cluster.AddClaim(Ns, "db", data: "good");
        Cluster.AddDeployment(Ns, "api", "db", replicas: 3);
        await SnapshotAsync("db", "db-good");
        Cluster.SnapshotsOf["db"] = new SnapshotBehavior { FailWith = "disk detached" };
        var uid = (string)Server.Peek(KubeResource.PersistentVolumeClaims, Ns, "db")!["metadata"]!["uid"]!;

        var failed = await Assert.ThrowsAsync<VolumeOperationFailedException>(() =>
            Restorer().RestoreInPlaceAsync(Options("db-good") with { SafetySnapshot = new SnapshotWaitOptions { CutTimeout = TimeSpan.FromMilliseconds(500) } }, "db", default));

        Assert.Contains("the safety snapshot", failed.Message, StringComparison.Ordinal);
        Assert.Contains("disk detached", failed.Message, StringComparison.Ordinal);
        Assert.Equal(uid, (string)Server.Peek(KubeResource.PersistentVolumeClaims, Ns, "db")!["metadata"]!["uid"]!);
        Assert.Equal(3, Server.Peek(KubeResource.Deployments, Ns, "api")!["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal("good", Cluster.ReadVolume(Ns, "db"));
    }
}
