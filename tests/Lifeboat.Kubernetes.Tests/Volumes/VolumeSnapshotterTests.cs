using System.Text.Json.Nodes;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Models;
using Lifeboat.Kubernetes.Volumes;
using Lifeboat.Testing.Kube;

namespace Lifeboat.Kubernetes.Tests.Volumes;

public sealed class VolumeSnapshotterTests : VolumeTestBase
{
    private static readonly Dictionary<string, string> NoLabels = [];

    [Fact]
    public async Task Snapshot_UsesTheDriversDefaultClass_AndWaitsThroughBoundCutReady()
    {
        Cluster.AddClaim(Ns, "data", data: "v1");
        var snapshotter = Snapshotter();

        var source = await snapshotter.CheckSourceAsync(Ns, "data", null, default);
        var (snapshot, created) = await snapshotter.CreateAsync(source, "data-manual-1", NoLabels, default);
        var result = await snapshotter.WaitAsync(snapshot, QuickWaits, default);

        Assert.True(created);
        Assert.Equal("csi-snapclass", source.ClassName);
        Assert.Equal(ClusterSimulator.Driver, source.Driver);
        Assert.Equal(SnapshotOutcome.Ready, result.Outcome);
        Assert.Equal("1Gi", result.Snapshot!.Status!.RestoreSize);
        Assert.Contains("bound to VolumeSnapshotContent", Log.Text, StringComparison.Ordinal);
        Assert.Contains("cut at", Log.Text, StringComparison.Ordinal);
        Assert.Contains("ready to use (restore size 1Gi)", Log.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnErrorThatLaterClears_IsShown_AndTheSnapshotStillBecomesReady()
    {
        Cluster.AddClaim(Ns, "data");
        Cluster.SnapshotsOf["data"] = new SnapshotBehavior { ErrorFor = TimeSpan.FromMilliseconds(600), ErrorMessage = "backend busy, retrying" };
        var snapshotter = Snapshotter();

        var (snapshot, _) = await snapshotter.CreateAsync(await snapshotter.CheckSourceAsync(Ns, "data", null, default), "s", NoLabels, default);
        var result = await snapshotter.WaitAsync(snapshot, QuickWaits, default);

        Assert.Equal(SnapshotOutcome.Ready, result.Outcome);
        Assert.Contains("the snapshot controller reports: backend busy, retrying (it keeps retrying)", Log.Text, StringComparison.Ordinal);
        Assert.Null(result.Snapshot!.Status!.Error);
    }

    [Fact]
    public async Task SlowReadiness_IsCutButNotReady_WithTheReadyTimeoutApartFromTheCutTimeout()
    {
        Cluster.AddClaim(Ns, "data");
        Cluster.SnapshotsOf["data"] = new SnapshotBehavior { CutAfter = TimeSpan.FromMilliseconds(100), ReadyAfter = TimeSpan.FromSeconds(30) };
        var snapshotter = Snapshotter();

        var (snapshot, _) = await snapshotter.CreateAsync(await snapshotter.CheckSourceAsync(Ns, "data", null, default), "s", NoLabels, default);
        var result = await snapshotter.WaitAsync(snapshot, new SnapshotWaitOptions { CutTimeout = TimeSpan.FromSeconds(10), ReadyTimeout = TimeSpan.FromMilliseconds(500) }, default);

        Assert.Equal(SnapshotOutcome.CutNotReady, result.Outcome);
        Assert.NotNull(result.Snapshot!.Status!.CreationTime);
        Assert.Null(result.LastError);
    }

    [Fact]
    public async Task AFailingDriver_IsNotCut_AndItsErrorIsReported()
    {
        Cluster.AddClaim(Ns, "data");
        Cluster.SnapshotsOf["data"] = new SnapshotBehavior { FailWith = "rpc error: code = ResourceExhausted desc = snapshot quota exceeded" };
        var snapshotter = Snapshotter();

        var (snapshot, _) = await snapshotter.CreateAsync(await snapshotter.CheckSourceAsync(Ns, "data", null, default), "s", NoLabels, default);
        var result = await snapshotter.WaitAsync(snapshot, new SnapshotWaitOptions { CutTimeout = TimeSpan.FromMilliseconds(600) }, default);

        Assert.Equal(SnapshotOutcome.NotCut, result.Outcome);
        Assert.Contains("snapshot quota exceeded", result.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARetry_AdoptsTheSnapshotItAlreadyMade_InsteadOfMakingASecond()
    {
        Cluster.AddClaim(Ns, "data");
        var snapshotter = Snapshotter();
        var source = await snapshotter.CheckSourceAsync(Ns, "data", null, default);

        var (_, first) = await snapshotter.CreateAsync(source, "data-hourly-202611211400", NoLabels, default);
        var (_, second) = await snapshotter.CreateAsync(source, "data-hourly-202611211400", NoLabels, default);

        Assert.True(first);
        Assert.False(second);
        Assert.Single(Server.All(KubeResource.VolumeSnapshots, Ns));
        Cluster.AddClaim(Ns, "other");
        var other = await snapshotter.CheckSourceAsync(Ns, "other", null, default);
        var taken = await Assert.ThrowsAsync<VolumeRefusedException>(() => snapshotter.CreateAsync(other, "data-hourly-202611211400", NoLabels, default));
        Assert.Contains("is not a snapshot of PVC other", taken.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refusals_NameTheCause_MissingClaim_Unbound_NoDefaultClass_SeveralDefaults_WrongClass()
    {
        var snapshotter = Snapshotter();
        var missing = await Assert.ThrowsAsync<VolumeRefusedException>(() => snapshotter.CheckSourceAsync(Ns, "nope", null, default));
        Assert.Equal("PVC app/nope does not exist", missing.Message);

        Server.Seed(KubeResource.StorageClasses, JsonNode.Parse("""{"metadata":{"name":"late"},"provisioner":"csi.test.lifeboat","volumeBindingMode":"WaitForFirstConsumer"}""")!.AsObject());
        Cluster.AddClaim(Ns, "pending", storageClass: "late");
        var unbound = await Assert.ThrowsAsync<VolumeRefusedException>(() => snapshotter.CheckSourceAsync(Ns, "pending", null, default));
        Assert.Contains("is Pending, not Bound", unbound.Message, StringComparison.Ordinal);

        Server.Seed(KubeResource.StorageClasses, JsonNode.Parse("""{"metadata":{"name":"nfs"},"provisioner":"nfs.csi.k8s.io"}""")!.AsObject());
        Cluster.AddClaim(Ns, "shared", storageClass: "nfs");
        Cluster.Reconcile();
        var noClass = await Assert.ThrowsAsync<VolumeRefusedException>(() => Snapshotter().CheckSourceAsync(Ns, "shared", null, default));
        Assert.Contains("no VolumeSnapshotClass exists for CSI driver nfs.csi.k8s.io; not every CSI driver supports snapshots", noClass.Message, StringComparison.Ordinal);

        Cluster.AddClaim(Ns, "data");
        Cluster.Reconcile();
        Server.Seed(KubeResource.VolumeSnapshotClasses, new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "second", ["annotations"] = new JsonObject { [VolumeSnapshotClass.DefaultClassAnnotation] = "true" } },
            ["driver"] = ClusterSimulator.Driver,
            ["deletionPolicy"] = "Retain",
        });
        var several = await Assert.ThrowsAsync<VolumeRefusedException>(() => Snapshotter().CheckSourceAsync(Ns, "data", null, default));
        Assert.Contains("several default VolumeSnapshotClasses for CSI driver csi.test.lifeboat: csi-snapclass, second", several.Message, StringComparison.Ordinal);
        Assert.Equal("second", (await Snapshotter().CheckSourceAsync(Ns, "data", "second", default)).ClassName);

        Server.Seed(KubeResource.VolumeSnapshotClasses, JsonNode.Parse("""{"metadata":{"name":"nfs-class"},"driver":"nfs.csi.k8s.io","deletionPolicy":"Delete"}""")!.AsObject());
        var wrong = await Assert.ThrowsAsync<VolumeRefusedException>(() => Snapshotter().CheckSourceAsync(Ns, "data", "nfs-class", default));
        Assert.Contains("is for driver nfs.csi.k8s.io, but PVC app/data is served by csi.test.lifeboat", wrong.Message, StringComparison.Ordinal);
        Assert.Empty(Server.All(KubeResource.VolumeSnapshots));
    }

    [Fact]
    public async Task RbacDenial_NamesTheMissingVerbAndResource()
    {
        Cluster.AddClaim(Ns, "data");
        Server.AddIdentity("reader", "system:serviceaccount:app:volume-snapshotter",
            new RbacRule(["get", "list"], "", ["persistentvolumeclaims", "persistentvolumes"]),
            new RbacRule(["get", "list"], "storage.k8s.io", ["storageclasses"]),
            new RbacRule(["get", "list"], "snapshot.storage.k8s.io", ["volumesnapshotclasses", "volumesnapshots"]));
        using var client = new KubeClient(Server.Connection("reader", Ns));
        var snapshotter = Snapshotter(client);

        var source = await snapshotter.CheckSourceAsync(Ns, "data", null, default);
        var denied = await Assert.ThrowsAsync<KubeForbiddenException>(() => snapshotter.CreateAsync(source, "s", NoLabels, default));

        Assert.Contains("User \"system:serviceaccount:app:volume-snapshotter\" cannot create resource \"volumesnapshots\" in API group \"snapshot.storage.k8s.io\" in the namespace \"app\"",
            denied.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutWatchPermission_WaitingFallsBackToReading()
    {
        Cluster.AddClaim(Ns, "data");
        Server.AddIdentity("nowatch", "job",
            new RbacRule(["get", "list"], "", ["persistentvolumeclaims", "persistentvolumes"]),
            new RbacRule(["get", "list"], "snapshot.storage.k8s.io", ["volumesnapshotclasses"]),
            new RbacRule(["get", "list", "create"], "snapshot.storage.k8s.io", ["volumesnapshots"]));
        using var client = new KubeClient(Server.Connection("nowatch", Ns));
        var snapshotter = Snapshotter(client);

        var (snapshot, _) = await snapshotter.CreateAsync(await snapshotter.CheckSourceAsync(Ns, "data", null, default), "s", NoLabels, default);
        var result = await snapshotter.WaitAsync(snapshot, QuickWaits, default);

        Assert.Equal(SnapshotOutcome.Ready, result.Outcome);
        Assert.Contains(Server.Requests, r => r.Contains("watch=true", StringComparison.Ordinal));
        Assert.True(Server.Requests.Count(r => r.StartsWith("GET /apis/snapshot.storage.k8s.io/v1/namespaces/app/volumesnapshots/s", StringComparison.Ordinal)) >= 2);
    }

    [Fact]
    public async Task AnUnreadableVolume_FallsBackToTheStorageClass_AndAnUnlistableClassList_ToTheControllersDefault()
    {
        Cluster.AddClaim(Ns, "data");
        Server.AddIdentity("ns-only", "job",
            new RbacRule(["get", "list"], "", ["persistentvolumeclaims"]),
            new RbacRule(["get", "list", "create", "watch"], "snapshot.storage.k8s.io", ["volumesnapshots"]));
        using var client = new KubeClient(Server.Connection("ns-only", Ns));
        var snapshotter = Snapshotter(client);

        var source = await snapshotter.CheckSourceAsync(Ns, "data", null, default);
        var (snapshot, _) = await snapshotter.CreateAsync(source, "s", NoLabels, default);
        var result = await snapshotter.WaitAsync(snapshot, QuickWaits, default);

        Assert.Null(source.ClassName);
        Assert.Contains("leaving the class to the snapshot controller's default", Log.Text, StringComparison.Ordinal);
        Assert.Equal(SnapshotOutcome.Ready, result.Outcome);
        Assert.Equal("csi-snapclass", result.Snapshot!.Spec.VolumeSnapshotClassName); // the controller filled it in
    }
}
