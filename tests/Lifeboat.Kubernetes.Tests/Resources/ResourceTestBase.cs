using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Lifeboat.Core.Storage;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Resources;
using Lifeboat.Kubernetes.Volumes;
using Lifeboat.Storage;
using Lifeboat.Testing;
using Lifeboat.Testing.Kube;

namespace Lifeboat.Kubernetes.Tests.Resources;

/// <summary>
/// A test API server seeded with an application in namespace <c>shop</c> (config, secret, service account, service,
/// deployment with its ReplicaSet and pod, claim and volume, RBAC, a CRD and custom objects), a namespace
/// <c>other</c>, cluster-scoped objects, a directory store and a recording log.
/// </summary>
public abstract class ResourceTestBase : IAsyncLifetime
{
    protected static readonly KubeResource Widgets = new("example.com", "v1", "widgets", "Widget", true);

    private readonly TempDirectory _dir = new("lifeboat-resources");

    protected ShiftedTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 21, 14, 7, 0, TimeSpan.Zero));

    protected TestApiServer Server { get; private set; } = null!;

    protected KubeClient Client { get; private set; } = null!;

    protected ISnapshotStore Store { get; private set; } = null!;

    protected string StorePath => _dir.Path;

    protected RecordingLog Log { get; } = new();

    public async Task InitializeAsync()
    {
        Server = await TestApiServer.StartAsync(Clock);
        Server.CrdEstablishDelay = TimeSpan.FromMilliseconds(300);
        Client = new KubeClient(Server.Connection());
        Store = StoreLocation.Open(_dir.Path, Clock);
        await SeedAsync();
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        _dir.Dispose();
    }

    protected ResourceBackupper Backupper(KubeClient? client = null) => new(client ?? Client, Log, Clock);

    protected ResourceRestorer Restorer() => new(Client, Log, Clock);

    protected async Task<RestoreReport> RestoreAsync(string backup, ResourceRestoreRequest request)
    {
        var (_, objects) = await new ResourceBackupCatalog(Store).ReadAsync(backup, CancellationToken.None);
        return await Restorer().RestoreAsync(backup, objects, request with { PollInterval = TimeSpan.FromMilliseconds(50) }, CancellationToken.None);
    }

    private async Task SeedAsync()
    {
        Server.Seed(KubeResource.Namespaces, Obj("""{"metadata":{"name":"shop","labels":{"team":"shop","pod-security.kubernetes.io/enforce":"baseline"}}}"""));
        Server.CreateNamespace("other");
        Server.Seed(KubeResource.ConfigMaps, Obj("""{"metadata":{"name":"settings","namespace":"shop","labels":{"app":"shop"}},"data":{"color":"blue","size":"3"}}"""));
        Server.Seed(KubeResource.Secrets, Obj("""{"metadata":{"name":"creds","namespace":"shop","labels":{"app":"shop"}},"type":"Opaque","data":{"password":"c2VjcmV0LXBhc3N3b3Jk"}}"""));
        Server.Seed(KubeResource.Secrets, Obj("""{"metadata":{"name":"app-token","namespace":"shop","annotations":{"kubernetes.io/service-account.name":"app"}},"type":"kubernetes.io/service-account-token","data":{"token":"dG9rZW4="}}"""));
        Server.Seed(TestApiServer.ServiceAccounts, Obj("""{"metadata":{"name":"app","namespace":"shop","labels":{"app":"shop"}}}"""));
        Server.Seed(TestApiServer.Services, Obj("""{"metadata":{"name":"web","namespace":"shop","labels":{"app":"shop"}},"spec":{"type":"NodePort","clusterIP":"10.96.0.12","clusterIPs":["10.96.0.12"],"selector":{"app":"shop"},"ports":[{"port":80,"targetPort":8080,"nodePort":30080}]},"status":{"loadBalancer":{}}}"""));
        var deployment = Server.Seed(KubeResource.Deployments, Obj("""
            {"metadata":{"name":"web","namespace":"shop","labels":{"app":"shop"},"managedFields":[{"manager":"kubectl"}]},
             "spec":{"replicas":2,"selector":{"matchLabels":{"app":"shop"}},"template":{"metadata":{"labels":{"app":"shop"}},"spec":{"serviceAccountName":"app","containers":[{"name":"web","image":"nginx:1.27"}]}}},
             "status":{"replicas":2,"readyReplicas":2}}
            """));
        var rs = Server.Seed(KubeResource.ReplicaSets, Owned(deployment, """
            {"metadata":{"name":"web-5d9f","namespace":"shop","labels":{"app":"shop"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"web","uid":"set below","controller":true}]},
             "spec":{"replicas":2,"selector":{"matchLabels":{"app":"shop"}},"template":{"metadata":{"labels":{"app":"shop"}},"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}
            """));
        Server.Seed(KubeResource.Pods, Owned(rs, """
            {"metadata":{"name":"web-5d9f-abcde","namespace":"shop","labels":{"app":"shop"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-5d9f","uid":"set below","controller":true}]},
             "spec":{"nodeName":"node-1","containers":[{"name":"web","image":"nginx:1.27"}]},"status":{"phase":"Running"}}
            """));
        Server.Seed(KubeResource.PersistentVolumeClaims, Obj("""
            {"metadata":{"name":"data","namespace":"shop","labels":{"app":"shop"},"annotations":{"pv.kubernetes.io/bind-completed":"yes"}},
             "spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}},"storageClassName":"fast","volumeName":"pvc-0001"},"status":{"phase":"Bound"}}
            """));
        Server.Seed(KubeResource.PersistentVolumes, Obj("""
            {"metadata":{"name":"pvc-0001","annotations":{"pv.kubernetes.io/provisioned-by":"csi.test.lifeboat"}},
             "spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"],"persistentVolumeReclaimPolicy":"Delete","storageClassName":"fast",
                     "claimRef":{"kind":"PersistentVolumeClaim","namespace":"shop","name":"data","uid":"x"},"csi":{"driver":"csi.test.lifeboat","volumeHandle":"vol-1"}},"status":{"phase":"Bound"}}
            """));
        Server.Seed(KubeResource.StorageClasses, Obj("""{"metadata":{"name":"fast"},"provisioner":"csi.test.lifeboat","reclaimPolicy":"Delete"}"""));
        Server.Seed(TestApiServer.Roles, Obj("""{"metadata":{"name":"reader","namespace":"shop"},"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["get"]}]}"""));
        Server.Seed(TestApiServer.RoleBindings, Obj("""{"metadata":{"name":"app-reads","namespace":"shop"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"reader"},"subjects":[{"kind":"ServiceAccount","name":"app","namespace":"shop"}]}"""));
        Server.Seed(TestApiServer.ClusterRoles, Obj("""{"metadata":{"name":"shop-viewer"},"rules":[{"apiGroups":["example.com"],"resources":["widgets"],"verbs":["get","list"]}]}"""));
        Server.Seed(TestApiServer.CustomResourceDefinitions, Obj("""
            {"metadata":{"name":"widgets.example.com"},
             "spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget","listKind":"WidgetList"},
                     "versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}
            """));
        Server.Seed(KubeResource.ConfigMaps, Obj("""{"metadata":{"name":"unrelated","namespace":"other"},"data":{"k":"v"}}"""));
        await Eventually.TrueAsync(() => Established("widgets.example.com"), TimeSpan.FromSeconds(10), "the CRD established");
        Server.Seed(Widgets, Obj("""{"metadata":{"name":"gear","namespace":"shop","labels":{"app":"shop"}},"spec":{"teeth":12},"status":{"turning":true}}"""));
        Server.Seed(Widgets, Obj("""{"metadata":{"name":"cog","namespace":"shop"},"spec":{"teeth":8}}"""));
    }

    protected bool Established(string crd) =>
        (Server.Peek(TestApiServer.CustomResourceDefinitions, null, crd)?["status"]?["conditions"] as JsonArray ?? [])
            .Any(c => (string?)c?["type"] == "Established" && (string?)c?["status"] == "True");

    protected static JsonObject Obj(string json) => JsonNode.Parse(json)!.AsObject();

    /// <summary>An object whose (single) owner reference points at <paramref name="owner"/>'s uid.</summary>
    private static JsonObject Owned(JsonObject owner, string json)
    {
        var item = Obj(json);
        item["metadata"]!["ownerReferences"]![0]!["uid"] = owner["metadata"]!["uid"]!.DeepClone();
        return item;
    }

    /// <summary>An object without what the server or a restore sets, to compare a restored object with its original.</summary>
    protected static JsonObject Comparable(JsonObject item)
    {
        var copy = (JsonObject)item.DeepClone();
        var meta = copy["metadata"]!.AsObject();
        foreach (var field in new[] { "uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "ownerReferences" })
        {
            meta.Remove(field);
        }

        if (meta["annotations"] is JsonObject annotations)
        {
            annotations.Remove(RestorePreparation.RestoredFromAnnotation);
            if (annotations.Count == 0)
            {
                meta.Remove("annotations");
            }
        }

        copy.Remove("status");
        return copy;
    }

    protected sealed class RecordingLog : IStepLog
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public string Text => string.Join('\n', Lines);

        public void Info(string message) => Lines.Enqueue(message);

        public void Warn(string message) => Lines.Enqueue("warning: " + message);
    }
}
