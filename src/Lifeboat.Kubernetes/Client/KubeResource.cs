namespace Lifeboat.Kubernetes.Client;

/// <summary>
/// Where a kind of object lives in the REST API: group, version, plural name and scope. The paths are
/// <c>/api/v1/...</c> for the core group and <c>/apis/&lt;group&gt;/&lt;version&gt;/...</c> otherwise, with
/// <c>namespaces/&lt;ns&gt;/</c> before the plural for namespaced objects.
/// </summary>
public sealed record KubeResource(string Group, string Version, string Plural, string Kind, bool Namespaced)
{
    public static readonly KubeResource Namespaces = new("", "v1", "namespaces", "Namespace", false);
    public static readonly KubeResource PersistentVolumeClaims = new("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true);
    public static readonly KubeResource PersistentVolumes = new("", "v1", "persistentvolumes", "PersistentVolume", false);
    public static readonly KubeResource Pods = new("", "v1", "pods", "Pod", true);
    public static readonly KubeResource Events = new("", "v1", "events", "Event", true);
    public static readonly KubeResource ConfigMaps = new("", "v1", "configmaps", "ConfigMap", true);
    public static readonly KubeResource Secrets = new("", "v1", "secrets", "Secret", true);
    public static readonly KubeResource StorageClasses = new("storage.k8s.io", "v1", "storageclasses", "StorageClass", false);
    public static readonly KubeResource Deployments = new("apps", "v1", "deployments", "Deployment", true);
    public static readonly KubeResource StatefulSets = new("apps", "v1", "statefulsets", "StatefulSet", true);
    public static readonly KubeResource ReplicaSets = new("apps", "v1", "replicasets", "ReplicaSet", true);
    public static readonly KubeResource VolumeSnapshots = new("snapshot.storage.k8s.io", "v1", "volumesnapshots", "VolumeSnapshot", true);
    public static readonly KubeResource VolumeSnapshotContents = new("snapshot.storage.k8s.io", "v1", "volumesnapshotcontents", "VolumeSnapshotContent", false);
    public static readonly KubeResource VolumeSnapshotClasses = new("snapshot.storage.k8s.io", "v1", "volumesnapshotclasses", "VolumeSnapshotClass", false);
    public static readonly KubeResource CustomResourceDefinitions = new("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false);

    /// <summary><c>v1</c> or <c>group/version</c>, as written in an object's <c>apiVersion</c>.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The group and version of an <c>apiVersion</c> (<c>v1</c> is the core group's).</summary>
    public static (string Group, string Version) SplitApiVersion(string apiVersion)
    {
        ArgumentNullException.ThrowIfNull(apiVersion);
        var slash = apiVersion.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? ("", apiVersion) : (apiVersion[..slash], apiVersion[(slash + 1)..]);
    }

    /// <summary><c>plural.group</c> (or the plural alone in the core group), as RBAC messages and kubectl name it.</summary>
    public string QualifiedName => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    /// <summary>The collection's path: in <paramref name="ns"/>, or across all namespaces when it is null.</summary>
    public string CollectionPath(string? ns)
    {
        var root = Group.Length == 0 ? "/api/v1" : $"/apis/{Group}/{Version}";
        if (!Namespaced || ns is null)
        {
            return $"{root}/{Plural}";
        }

        return $"{root}/namespaces/{Uri.EscapeDataString(ns)}/{Plural}";
    }

    /// <summary>One object's path, optionally a subresource of it (<c>status</c>, <c>scale</c>).</summary>
    public string ObjectPath(string? ns, string name, string? subresource = null)
    {
        if (Namespaced && string.IsNullOrEmpty(ns))
        {
            throw new ArgumentException($"{QualifiedName} are namespaced: a namespace is needed for {name}", nameof(ns));
        }

        var path = $"{CollectionPath(ns)}/{Uri.EscapeDataString(name)}";
        return subresource is null ? path : $"{path}/{subresource}";
    }
}
