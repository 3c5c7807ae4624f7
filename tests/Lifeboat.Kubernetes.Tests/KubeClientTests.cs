using System.Text.Json.Nodes;
using k8s.Models;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Models;
using Lifeboat.Testing.Kube;

namespace Lifeboat.Kubernetes.Tests;

/// <summary>The REST client against the test API server: the API semantics Lifeboat depends on, each checked.</summary>
public sealed class KubeClientTests : IAsyncLifetime
{
    private TestApiServer _server = null!;
    private KubeClient _client = null!;

    public async Task InitializeAsync()
    {
        _server = await TestApiServer.StartAsync();
        _client = new KubeClient(_server.Connection());
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private static VolumeSnapshot Snapshot(string name, string pvc = "data", Dictionary<string, string>? labels = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = labels },
        Spec = new VolumeSnapshotSpec { Source = new VolumeSnapshotSource { PersistentVolumeClaimName = pvc } },
    };

    [Fact]
    public async Task Create_Get_RoundTripsTypedFields_AndTheServerStampsMetadata()
    {
        var created = await _client.CreateAsync(KubeResource.VolumeSnapshots, "default", Snapshot("a"), default);
        var read = await _client.GetAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", "a", default);

        Assert.Equal("data", read.Spec.Source.PersistentVolumeClaimName);
        Assert.Equal("default", read.Metadata.NamespaceProperty);
        Assert.False(string.IsNullOrEmpty(read.Metadata.Uid));
        Assert.NotNull(read.Metadata.CreationTimestamp);
        Assert.Equal(created.Metadata.ResourceVersion, read.Metadata.ResourceVersion);
        Assert.Null(await _client.TryGetAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", "missing", default));
    }

    [Fact]
    public async Task Create_ExistingName_IsAlreadyExists_AndMissingNamespace_IsNotFound()
    {
        await _client.CreateAsync(KubeResource.VolumeSnapshots, "default", Snapshot("a"), default);

        var again = await Assert.ThrowsAsync<KubeConflictException>(() => _client.CreateAsync(KubeResource.VolumeSnapshots, "default", Snapshot("a"), default));
        Assert.True(again.AlreadyExists);
        Assert.Contains("\"a\" already exists", again.Message, StringComparison.Ordinal);
        var noNs = await Assert.ThrowsAsync<KubeNotFoundException>(() => _client.CreateAsync(KubeResource.VolumeSnapshots, "nowhere", Snapshot("a"), default));
        Assert.Contains("namespaces \"nowhere\" not found", noNs.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replace_WithAStaleResourceVersion_IsConflict_AndTheFreshOneSucceeds()
    {
        var first = await _client.CreateAsync(KubeResource.VolumeSnapshots, "default", Snapshot("a"), default);
        var stale = await _client.GetAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", "a", default);
        first.Metadata.Labels = new Dictionary<string, string> { ["k"] = "1" };
        var updated = await _client.ReplaceAsync(KubeResource.VolumeSnapshots, first, default);

        stale.Metadata.Labels = new Dictionary<string, string> { ["k"] = "2" };
        var conflict = await Assert.ThrowsAsync<KubeConflictException>(() => _client.ReplaceAsync(KubeResource.VolumeSnapshots, stale, default));
        Assert.False(conflict.AlreadyExists);
        Assert.Contains("the object has been modified", conflict.Message, StringComparison.Ordinal);
        Assert.True(long.Parse(updated.Metadata.ResourceVersion!) > long.Parse(first.Metadata.ResourceVersion!));
    }

    [Fact]
    public async Task StatusSubresource_IsWrittenApartFromTheSpec_AndGenerationCountsSpecChangesOnly()
    {
        var created = await _client.CreateAsync(KubeResource.VolumeSnapshots, "default", Snapshot("a"), default);
        created.Status = new VolumeSnapshotStatus { ReadyToUse = true };
        var viaMain = await _client.ReplaceAsync(KubeResource.VolumeSnapshots, created, default);
        Assert.Null(viaMain.Status); // the main resource ignores status

        viaMain.Status = new VolumeSnapshotStatus { ReadyToUse = true, RestoreSize = "1Gi" };
        viaMain.Spec.VolumeSnapshotClassName = "ignored-on-status";
        var viaStatus = await _client.ReplaceAsync(KubeResource.VolumeSnapshots, viaMain, default, subresource: "status");
        Assert.True(viaStatus.Status!.ReadyToUse);
        Assert.Null(viaStatus.Spec.VolumeSnapshotClassName); // the status subresource ignores the spec
        Assert.Equal(1, viaStatus.Metadata.Generation);

        viaStatus.Spec.VolumeSnapshotClassName = "csi";
        var specChanged = await _client.ReplaceAsync(KubeResource.VolumeSnapshots, viaStatus, default);
        Assert.Equal(2, specChanged.Metadata.Generation);
        Assert.Equal("1Gi", specChanged.Status!.RestoreSize);
    }

    [Fact]
    public async Task MergeAndJsonPatch_ChangeWhatTheySay_AndAFailedTestOperationIsInvalid()
    {
        await _client.CreateAsync(KubeResource.VolumeSnapshots, "default", Snapshot("a", labels: new() { ["keep"] = "no", ["x"] = "1" }), default);

        var merged = await _client.PatchAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", "a",
            KubePatch.Merge("""{"metadata":{"labels":{"keep":"yes","x":null}}}"""), default);
        Assert.Equal(new Dictionary<string, string> { ["keep"] = "yes" }, merged.Metadata.Labels);

        var patched = await _client.PatchAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", "a",
            KubePatch.Json("""[{"op":"test","path":"/metadata/labels/keep","value":"yes"},{"op":"add","path":"/metadata/annotations","value":{"a/b":"c"}}]"""), default);
        Assert.Equal("c", patched.Metadata.Annotation("a/b"));
        await Assert.ThrowsAsync<KubeInvalidException>(() => _client.PatchAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", "a",
            KubePatch.Json("""[{"op":"test","path":"/metadata/labels/keep","value":"no"}]"""), default));
    }

    [Fact]
    public async Task List_FiltersByLabelSelector_AndPagesWithContinue()
    {
        for (var i = 0; i < 7; i++)
        {
            await _client.CreateAsync(KubeResource.VolumeSnapshots, "default",
                Snapshot($"s{i}", labels: new() { ["job"] = i % 2 == 0 ? "volume-snapshotter" : "other", ["n"] = i.ToString() }), default);
        }

        var page = await _client.ListAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", new ListOptions { Limit = 3 }, default);
        Assert.Equal(3, page.Items.Count);
        Assert.False(string.IsNullOrEmpty(page.Metadata.ContinueProperty));

        var all = await _client.ListAllAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", new ListOptions { Limit = 2 }, default).ToListAsync();
        Assert.Equal(7, all.Count);
        var selected = await _client.ListAllAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default",
            new ListOptions { LabelSelector = "job=volume-snapshotter,n notin (0)" }, default).Select(s => s.Metadata.Name).ToListAsync();
        Assert.Equal(["s2", "s4", "s6"], selected);
    }

    [Fact]
    public async Task Delete_WithAFinalizer_WaitsForItsRemoval_AndAWrongUidPreconditionIsConflict()
    {
        var held = Snapshot("held");
        held.Metadata.Finalizers = ["snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"];
        var created = await _client.CreateAsync(KubeResource.VolumeSnapshots, "default", held, default);

        await Assert.ThrowsAsync<KubeConflictException>(() => _client.DeleteAsync(KubeResource.VolumeSnapshots, "default", "held", default,
            new DeleteOptions { PreconditionUid = "not-its-uid" }));
        Assert.True(await _client.DeleteAsync(KubeResource.VolumeSnapshots, "default", "held", default, new DeleteOptions { PreconditionUid = created.Metadata.Uid }));
        var terminating = await _client.GetAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", "held", default);
        Assert.NotNull(terminating.Metadata.DeletionTimestamp);

        await _client.PatchAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", "held", KubePatch.Merge("""{"metadata":{"finalizers":null}}"""), default);
        Assert.Null(await _client.TryGetAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", "held", default));
        Assert.False(await _client.DeleteAsync(KubeResource.VolumeSnapshots, "default", "held", default));
    }

    [Fact]
    public async Task Rbac_AnIdentityWithoutTheVerb_Gets403NamingVerbAndResource_AndAnUnknownToken401()
    {
        _server.AddIdentity("snapshotter", "system:serviceaccount:default:volume-snapshotter",
            new RbacRule(["get", "list"], "snapshot.storage.k8s.io", ["volumesnapshots"], "default"));
        using var limited = new KubeClient(_server.Connection("snapshotter"));
        using var stranger = new KubeClient(_server.Connection("no-such-token"));

        await limited.ListAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", null, default);
        var denied = await Assert.ThrowsAsync<KubeForbiddenException>(() => limited.CreateAsync(KubeResource.VolumeSnapshots, "default", Snapshot("a"), default));
        Assert.Contains("cannot create resource \"volumesnapshots\" in API group \"snapshot.storage.k8s.io\" in the namespace \"default\"", denied.Message, StringComparison.Ordinal);
        Assert.Contains("system:serviceaccount:default:volume-snapshotter", denied.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<KubeUnauthorizedException>(() => stranger.ListAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", null, default));
    }

    [Fact]
    public async Task Watch_FromAListsVersion_SeesLaterChangesInOrder_WithBookmarks()
    {
        await _client.CreateAsync(KubeResource.VolumeSnapshots, "default", Snapshot("before"), default);
        var list = await _client.ListAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", null, default);
        _server.BookmarkInterval = TimeSpan.FromMilliseconds(200);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var seen = new List<(string, string?)>();
        var watching = Task.Run(async () =>
        {
            await foreach (var e in _client.WatchAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default",
                new WatchOptions { ResourceVersion = list.Metadata.ResourceVersion }, stop.Token))
            {
                seen.Add((e.Type, e.Item?.Metadata.Name));
                if (e.Type == "DELETED")
                {
                    break;
                }
            }
        });

        await _client.CreateAsync(KubeResource.VolumeSnapshots, "default", Snapshot("after"), default);
        _server.Mutate(KubeResource.VolumeSnapshots, "default", "after", o => o["status"] = new JsonObject { ["readyToUse"] = true });
        await Task.Delay(500);
        await _client.DeleteAsync(KubeResource.VolumeSnapshots, "default", "after", default);
        await watching;

        var changes = seen.Where(e => e.Item1 != "BOOKMARK").ToList();
        Assert.Equal([("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "after")], changes);
        Assert.Contains(seen, e => e.Item1 == "BOOKMARK");
    }

    [Fact]
    public async Task Watch_FromACompactedVersion_IsGone()
    {
        var created = await _client.CreateAsync(KubeResource.VolumeSnapshots, "default", Snapshot("a"), default);
        await _client.CreateAsync(KubeResource.VolumeSnapshots, "default", Snapshot("b"), default);
        _server.CompactHistory();

        var gone = await Assert.ThrowsAsync<KubeGoneException>(async () =>
        {
            await foreach (var _ in _client.WatchAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default",
                new WatchOptions { ResourceVersion = created.Metadata.ResourceVersion }, default))
            {
            }
        });
        Assert.Contains("too old resource version", gone.Message, StringComparison.Ordinal);
    }
}
