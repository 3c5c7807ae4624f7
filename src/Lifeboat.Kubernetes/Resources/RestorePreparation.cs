using System.Text.Json.Nodes;

namespace Lifeboat.Kubernetes.Resources;

/// <summary>
/// Per-kind changes that make an archived object creatable in the target cluster, and the kinds a restore leaves to
/// the cluster's own controllers. Each rule says why, because each one is visible to the user in the report.
/// </summary>
public static class RestorePreparation
{
    /// <summary>Annotation on every object a restore writes: the backup it came from.</summary>
    public const string RestoredFromAnnotation = "lifeboat.io/restored-from";

    /// <summary>Not restored unless named in --include-resources: they describe one cluster's machines and history.</summary>
    public static readonly IReadOnlySet<string> DefaultExcluded = new HashSet<string>(StringComparer.Ordinal)
    {
        "nodes", "events", "events.events.k8s.io", "csinodes.storage.k8s.io", "volumeattachments.storage.k8s.io",
        "leases.coordination.k8s.io", "componentstatuses",
    };

    private static readonly string[] ClaimBindingAnnotations =
    [
        "pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller", "volume.kubernetes.io/selected-node",
        "volume.beta.kubernetes.io/storage-provisioner", "volume.kubernetes.io/storage-provisioner",
    ];

    /// <summary>Why the object is left to the cluster, or null when it is restored.</summary>
    public static string? SkipReason(ArchivedObject item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var o = item.Content;
        switch (item.Resource)
        {
            case "secrets" when (string?)o["type"] == "kubernetes.io/service-account-token":
                return "a service account token: the cluster issues a new one";
            case "persistentvolumes" when (o["metadata"]?["annotations"]?["pv.kubernetes.io/provisioned-by"] is not null
                && (string?)o["spec"]?["persistentVolumeReclaimPolicy"] != "Retain"):
                return "dynamically provisioned with reclaim policy Delete: the restored claim gets a new volume from its storage class " +
                    "(bring the data back with lifeboat volumes restore)";
            default:
                return null;
        }
    }

    /// <summary>
    /// The object to create: in <paramref name="targetNamespace"/>, without what binds it to the old cluster (a
    /// Service's cluster IPs, a claim's volume when that volume is not restored with it, a pod's node), annotated
    /// with the backup's name.
    /// </summary>
    /// <param name="volumesRestored">Names of the PVs this restore creates: claims bound to them keep their binding.</param>
    public static JsonObject Prepare(ArchivedObject item, string? targetNamespace, string backupName, IReadOnlyDictionary<string, string> namespaceMapping,
        IReadOnlySet<string> volumesRestored)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(namespaceMapping);
        ArgumentNullException.ThrowIfNull(volumesRestored);
        var o = (JsonObject)item.Content.DeepClone();
        var meta = o["metadata"] as JsonObject ?? [];
        o["metadata"] = meta;
        if (targetNamespace is not null)
        {
            meta["namespace"] = targetNamespace;
        }

        if (item.Resource == "namespaces")
        {
            meta["name"] = namespaceMapping.GetValueOrDefault(item.Name, item.Name);
            o.Remove("status");
            (o["spec"] as JsonObject)?.Remove("finalizers");
        }

        var mapped = item.Namespace is not null && targetNamespace != item.Namespace;
        switch (item.Resource)
        {
            case "services" when o["spec"] is JsonObject spec:
                if ((string?)spec["clusterIP"] != "None")
                {
                    spec.Remove("clusterIP");
                    spec.Remove("clusterIPs");
                }

                if (mapped)
                {
                    // A copy next to the original would collide on its node ports.
                    spec.Remove("healthCheckNodePort");
                    foreach (var port in (spec["ports"] as JsonArray ?? []).OfType<JsonObject>())
                    {
                        port.Remove("nodePort");
                    }
                }

                break;
            case "persistentvolumeclaims" when o["spec"] is JsonObject spec:
                if (!((string?)spec["volumeName"] is { } volume && volumesRestored.Contains(volume)))
                {
                    spec.Remove("volumeName");
                    foreach (var annotation in ClaimBindingAnnotations)
                    {
                        (meta["annotations"] as JsonObject)?.Remove(annotation);
                    }
                }

                o.Remove("status");
                break;
            case "persistentvolumes" when (o["spec"]?["claimRef"] is JsonObject claimRef):
                claimRef.Remove("uid");
                claimRef.Remove("resourceVersion");
                if ((string?)claimRef["namespace"] is { } claimNs && namespaceMapping.TryGetValue(claimNs, out var newNs))
                {
                    claimRef["namespace"] = newNs;
                }

                o.Remove("status");
                break;
            case "pods" when o["spec"] is JsonObject spec:
                spec.Remove("nodeName"); // let the scheduler place it: the old node may not exist
                RemoveTokenVolumes(spec);
                o.Remove("status");
                break;
            case "rolebindings.rbac.authorization.k8s.io" or "clusterrolebindings.rbac.authorization.k8s.io":
                foreach (var subject in (o["subjects"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    if ((string?)subject["kind"] == "ServiceAccount" && subject["namespace"]?.GetValue<string>() is { } sns && namespaceMapping.TryGetValue(sns, out var to))
                    {
                        subject["namespace"] = to;
                    }
                }

                break;
        }

        var annotations = meta["annotations"] as JsonObject ?? [];
        annotations[RestoredFromAnnotation] = backupName;
        meta["annotations"] = annotations;
        return o;
    }

    /// <summary>The projected service account token volume the admission plugin adds to every pod; it adds it again.</summary>
    private static void RemoveTokenVolumes(JsonObject spec)
    {
        if (spec["volumes"] is not JsonArray volumes)
        {
            return;
        }

        var tokens = volumes.OfType<JsonObject>().Where(v => ((string?)v["name"])?.StartsWith("kube-api-access-", StringComparison.Ordinal) == true).ToList();
        var names = tokens.Select(v => (string)v["name"]!).ToHashSet(StringComparer.Ordinal);
        foreach (var v in tokens)
        {
            volumes.Remove(v);
        }

        foreach (var key in new[] { "containers", "initContainers" })
        {
            foreach (var container in (spec[key] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (container["volumeMounts"] is JsonArray mounts)
                {
                    foreach (var m in mounts.OfType<JsonObject>().Where(m => names.Contains((string?)m["name"] ?? "")).ToList())
                    {
                        mounts.Remove(m);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The restore tier of a resource: CRDs, namespaces, storage classes, PVs, service accounts, config maps, secrets,
    /// quotas, claims, RBAC, services, workloads, then the rest (by name).
    /// </summary>
    public static int Tier(string resource) => resource switch
    {
        "customresourcedefinitions.apiextensions.k8s.io" => 0,
        "namespaces" => 1,
        "storageclasses.storage.k8s.io" or "volumesnapshotclasses.snapshot.storage.k8s.io" => 2,
        "persistentvolumes" => 3,
        "serviceaccounts" => 4,
        "configmaps" => 5,
        "secrets" => 6,
        "limitranges" or "resourcequotas" => 7,
        "persistentvolumeclaims" => 8,
        "roles.rbac.authorization.k8s.io" or "rolebindings.rbac.authorization.k8s.io"
            or "clusterroles.rbac.authorization.k8s.io" or "clusterrolebindings.rbac.authorization.k8s.io" => 9,
        "services" => 10,
        "deployments.apps" or "statefulsets.apps" or "daemonsets.apps" or "replicasets.apps" or "jobs.batch" or "cronjobs.batch" => 11,
        "pods" => 12,
        _ => 13,
    };
}
