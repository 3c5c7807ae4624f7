using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Models;
using Lifeboat.Kubernetes.Volumes;

namespace Lifeboat.Testing.Kube;

/// <summary>How the simulated CSI driver answers one snapshot (delays count from the snapshot's creation).</summary>
public sealed record SnapshotBehavior
{
    /// <summary>While this long after creation, <c>status.error</c> carries <see cref="ErrorMessage"/>; then it clears.</summary>
    public TimeSpan ErrorFor { get; init; }

    public string ErrorMessage { get; init; } = "Failed to create snapshot: rpc error: code = Unavailable desc = the storage backend is busy";

    /// <summary>When the storage system cuts it (content bound, <c>creationTime</c> set), after any error period.</summary>
    public TimeSpan CutAfter { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>When it is <c>readyToUse</c>, after any error period.</summary>
    public TimeSpan ReadyAfter { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>An error that never clears: the snapshot is never cut.</summary>
    public string? FailWith { get; init; }
}

/// <summary>
/// The controllers a real cluster runs beside its API server, simulated against <see cref="TestApiServer"/>: the
/// snapshot controller with a CSI driver (default class per driver, content bound, creationTime, readyToUse after
/// delays, an error that later clears), the PV controller and provisioner (binds claims, honours
/// <c>dataSourceRef</c> to a ready snapshot and refuses one smaller than its restoreSize, WaitForFirstConsumer),
/// pvc-protection (a claim in use is not deleted), and the Deployment/ReplicaSet/StatefulSet controllers (pods with
/// the template's volumes, created and removed with the replicas). Volumes carry a string of "data" that snapshots copy
/// and restores bring back, so a test can check what a restore really restored.
/// </summary>
/// <remarks>Only what the real ones do, never more: Lifeboat must work against them.</remarks>
public sealed class ClusterSimulator : IAsyncDisposable
{
    public const string Driver = "csi.test.lifeboat";
    public const string DataAnnotation = "sim.lifeboat.test/data";

    private readonly TestApiServer _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, long> _firstSeen = new(StringComparer.Ordinal);
    private readonly Task _loop;

    private ClusterSimulator(TestApiServer server)
    {
        _server = server;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>How snapshots of claims without an entry in <see cref="SnapshotsOf"/> behave.</summary>
    public SnapshotBehavior DefaultSnapshot { get; set; } = new();

    /// <summary>Per source claim name.</summary>
    public ConcurrentDictionary<string, SnapshotBehavior> SnapshotsOf { get; } = new(StringComparer.Ordinal);

    /// <summary>When set, the provisioner fails every claim with this message (a Warning event) and binds none.</summary>
    public string? ProvisioningFailure { get; set; }

    /// <summary>How long a pod takes to go once its replica is removed.</summary>
    public TimeSpan PodShutdown { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Starts the controllers with a storage class <c>standard</c> (the default, Immediate binding) and a default
    /// VolumeSnapshotClass <c>csi-snapclass</c>, both for <see cref="Driver"/>.
    /// </summary>
    public static ClusterSimulator Start(TestApiServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        server.Seed(KubeResource.StorageClasses, Json("""
            {"metadata":{"name":"standard","annotations":{"storageclass.kubernetes.io/is-default-class":"true"}},
             "provisioner":"<0>","reclaimPolicy":"Delete","volumeBindingMode":"Immediate","allowVolumeExpansion":true}
            """, Driver));
        server.Seed(KubeResource.VolumeSnapshotClasses, Json("""
            {"metadata":{"name":"csi-snapclass","annotations":{"<0>":"true"}},
             "driver":"<1>","deletionPolicy":"Delete"}
            """, VolumeSnapshotClass.DefaultClassAnnotation, Driver));
        return new ClusterSimulator(server);
    }

    /// <summary>Creates a claim and runs the controllers once (an Immediate class binds it then); data is written to its volume.</summary>
    public JsonObject AddClaim(string ns, string name, string size = "1Gi", string? data = null, string storageClass = "standard", string volumeMode = "Filesystem")
    {
        var claim = _server.Seed(KubeResource.PersistentVolumeClaims, Json("""
            {"metadata":{"name":"<0>","namespace":"<1>","finalizers":["<2>"]},
             "spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"<3>","volumeMode":"<4>",
                     "resources":{"requests":{"storage":"<5>"}}},
             "status":{"phase":"Pending"}}
            """, name, ns, Admission.PvcProtection, storageClass, volumeMode, size));
        Reconcile();
        if (data is not null)
        {
            WriteVolume(ns, name, data);
        }

        return claim;
    }

    /// <summary>A Deployment whose pods mount <paramref name="claim"/>.</summary>
    public void AddDeployment(string ns, string name, string claim, int replicas = 1) =>
        _server.Seed(KubeResource.Deployments, Json("""
            {"metadata":{"name":"<0>","namespace":"<1>"},
             "spec":{"replicas":<2>,"selector":{"matchLabels":{"app":"<3>"}},
                     "template":{"metadata":{"labels":{"app":"<4>"}},
                                 "spec":{"containers":[{"name":"app","image":"busybox"}],
                                         "volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"<5>"}}]}}}}
            """, name, ns, replicas, name, name, claim));

    /// <summary>A StatefulSet with a volume claim template <c>data</c>: its claims are <c>data-NAME-i</c>.</summary>
    public void AddStatefulSet(string ns, string name, int replicas = 1) =>
        _server.Seed(KubeResource.StatefulSets, Json("""
            {"metadata":{"name":"<0>","namespace":"<1>"},
             "spec":{"replicas":<2>,"serviceName":"<3>","selector":{"matchLabels":{"app":"<4>"}},
                     "template":{"metadata":{"labels":{"app":"<5>"}},"spec":{"containers":[{"name":"app","image":"busybox"}]}},
                     "volumeClaimTemplates":[{"metadata":{"name":"data"},
                        "spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]}}
            """, name, ns, replicas, name, name, name));

    /// <summary>Writes "data" to the volume bound to a claim.</summary>
    public void WriteVolume(string ns, string claim, string data)
    {
        var volume = (string?)_server.Peek(KubeResource.PersistentVolumeClaims, ns, claim)?["spec"]?["volumeName"]
            ?? throw new InvalidOperationException($"claim {ns}/{claim} is not bound");
        _server.Mutate(KubeResource.PersistentVolumes, null, volume, pv => Annotations(pv)[DataAnnotation] = data);
    }

    /// <summary>The "data" on the volume bound to a claim, or null when it is not bound.</summary>
    public string? ReadVolume(string ns, string claim) =>
        _server.Peek(KubeResource.PersistentVolumeClaims, ns, claim)?["spec"]?["volumeName"] is { } volume
            ? (string?)_server.Peek(KubeResource.PersistentVolumes, null, (string)volume!)?["metadata"]?["annotations"]?[DataAnnotation]
            : null;

    /// <summary>Runs every controller once, now (the background loop also does, every 25 ms).</summary>
    public void Reconcile()
    {
        lock (_stop)
        {
            ReconcileWorkloads();
            ReconcileClaims();
            ReconcileSnapshots();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                Reconcile();
            }
            catch (Exception ex) when (ex is InvalidOperationException or KeyNotFoundException or NullReferenceException)
            {
                // An object changed under the controller: the next pass sees the new state, as a real one would.
            }

            await Task.Delay(25, cancellationToken);
        }
    }

    private TimeSpan Age(JsonObject item)
    {
        var uid = (string)item["metadata"]!["uid"]!;
        var first = _firstSeen.GetOrAdd(uid, _ => Stopwatch.GetTimestamp());
        return Stopwatch.GetElapsedTime(first);
    }

    private void ReconcileSnapshots()
    {
        foreach (var snapshot in _server.All(KubeResource.VolumeSnapshots))
        {
            var meta = snapshot["metadata"]!;
            var (ns, name) = ((string)meta["namespace"]!, (string)meta["name"]!);
            if (meta["deletionTimestamp"] is not null || snapshot["status"]?["readyToUse"]?.GetValue<bool>() == true)
            {
                continue;
            }

            var claimName = (string?)snapshot["spec"]?["source"]?["persistentVolumeClaimName"];
            var claim = claimName is null ? null : _server.Peek(KubeResource.PersistentVolumeClaims, ns, claimName);
            var contentName = (string?)snapshot["status"]?["boundVolumeSnapshotContentName"];
            if (contentName is null)
            {
                if (claim is null || (string?)claim["status"]?["phase"] != "Bound")
                {
                    SetSnapshotError(ns, name, $"Failed to create snapshot: failed to get input parameters to create snapshot {name}: \"the PVC {claimName} is not yet bound to a PV, will not attempt to take a snapshot\"");
                    continue;
                }

                var volume = _server.Peek(KubeResource.PersistentVolumes, null, (string)claim["spec"]!["volumeName"]!)!;
                var driver = (string?)volume["spec"]?["csi"]?["driver"];
                var className = (string?)snapshot["spec"]?["volumeSnapshotClassName"];
                if (className is null)
                {
                    var defaults = _server.All(KubeResource.VolumeSnapshotClasses)
                        .Where(c => (string?)c["driver"] == driver && (string?)c["metadata"]?["annotations"]?[VolumeSnapshotClass.DefaultClassAnnotation] == "true")
                        .ToList();
                    if (defaults.Count != 1)
                    {
                        SetSnapshotError(ns, name, defaults.Count == 0
                            ? $"Failed to set default snapshot class with error cannot find default snapshot class for driver {driver}"
                            : "Failed to set default snapshot class with error default snapshot class: too many default classes");
                        continue;
                    }

                    className = (string)defaults[0]["metadata"]!["name"]!;
                    _server.Mutate(KubeResource.VolumeSnapshots, ns, name, s => s["spec"]!["volumeSnapshotClassName"] = className);
                }

                var snapshotClass = _server.Peek(KubeResource.VolumeSnapshotClasses, null, className);
                if (snapshotClass is null || (string?)snapshotClass["driver"] != driver)
                {
                    SetSnapshotError(ns, name, snapshotClass is null
                        ? $"Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io \"{className}\" not found"
                        : $"Failed to create snapshot: the driver {snapshotClass["driver"]} of class {className} does not serve volume {volume["metadata"]!["name"]}");
                    continue;
                }

                var behavior = SnapshotsOf.GetValueOrDefault(claimName!) ?? DefaultSnapshot;
                var age = Age(snapshot);
                if (behavior.FailWith is { } failure)
                {
                    SetSnapshotError(ns, name, failure);
                    continue;
                }

                if (age < behavior.ErrorFor)
                {
                    SetSnapshotError(ns, name, behavior.ErrorMessage);
                    continue;
                }

                if (age < behavior.ErrorFor + behavior.CutAfter)
                {
                    _server.Mutate(KubeResource.VolumeSnapshots, ns, name, s => s["status"] = new JsonObject { ["readyToUse"] = false });
                    continue;
                }

                contentName = "snapcontent-" + (string)meta["uid"]!;
                var size = (string)claim["status"]!["capacity"]!["storage"]!;
                var cutAt = Stopwatch.GetTimestamp();
                _server.Seed(KubeResource.VolumeSnapshotContents, new JsonObject
                {
                    ["metadata"] = new JsonObject
                    {
                        ["name"] = contentName,
                        ["annotations"] = new JsonObject { [DataAnnotation] = volume["metadata"]?["annotations"]?[DataAnnotation]?.DeepClone() },
                    },
                    ["spec"] = new JsonObject
                    {
                        ["volumeSnapshotRef"] = new JsonObject
                        {
                            ["apiVersion"] = KubeResource.VolumeSnapshots.ApiVersion,
                            ["kind"] = "VolumeSnapshot",
                            ["name"] = name,
                            ["namespace"] = ns,
                            ["uid"] = meta["uid"]!.DeepClone(),
                        },
                        ["deletionPolicy"] = snapshotClass["deletionPolicy"]?.DeepClone(),
                        ["driver"] = driver,
                        ["volumeSnapshotClassName"] = className,
                        ["source"] = new JsonObject { ["volumeHandle"] = volume["spec"]?["csi"]?["volumeHandle"]?.DeepClone() },
                        ["sourceVolumeMode"] = claim["spec"]?["volumeMode"]?.DeepClone() ?? "Filesystem",
                    },
                    ["status"] = new JsonObject
                    {
                        ["snapshotHandle"] = "snap-" + Guid.NewGuid().ToString("N")[..12],
                        ["creationTime"] = _server.Time.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000,
                        ["restoreSize"] = new ResourceQuantity(size).Bytes(),
                        ["readyToUse"] = false,
                    },
                });
                _firstSeen[contentName] = cutAt;
                _server.Mutate(KubeResource.VolumeSnapshots, ns, name, s => s["status"] = new JsonObject
                {
                    ["boundVolumeSnapshotContentName"] = contentName,
                    ["creationTime"] = _server.Time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                    ["restoreSize"] = size,
                    ["readyToUse"] = false,
                });
            }

            var readyBehavior = claimName is null ? DefaultSnapshot : SnapshotsOf.GetValueOrDefault(claimName) ?? DefaultSnapshot;
            if (Age(snapshot) >= readyBehavior.ErrorFor + readyBehavior.ReadyAfter)
            {
                _server.Mutate(KubeResource.VolumeSnapshotContents, null, contentName, c => c["status"]!["readyToUse"] = true);
                _server.Mutate(KubeResource.VolumeSnapshots, ns, name, s => s["status"]!["readyToUse"] = true);
            }
        }

        // Contents whose snapshot is gone go with it when their policy says Delete.
        foreach (var content in _server.All(KubeResource.VolumeSnapshotContents))
        {
            var reference = content["spec"]!["volumeSnapshotRef"]!;
            var owner = _server.Peek(KubeResource.VolumeSnapshots, (string?)reference["namespace"], (string)reference["name"]!);
            if ((owner is null || (string?)owner["metadata"]!["uid"] != (string?)reference["uid"]) && (string?)content["spec"]!["deletionPolicy"] == "Delete")
            {
                _server.Remove(KubeResource.VolumeSnapshotContents, null, (string)content["metadata"]!["name"]!);
            }
        }
    }

    private void SetSnapshotError(string ns, string name, string message) =>
        _server.Mutate(KubeResource.VolumeSnapshots, ns, name, s =>
        {
            if ((string?)s["status"]?["error"]?["message"] != message)
            {
                s["status"] = new JsonObject
                {
                    ["readyToUse"] = false,
                    ["error"] = new JsonObject
                    {
                        ["time"] = _server.Time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                        ["message"] = message,
                    },
                };
            }
        });

    private void ReconcileClaims()
    {
        var pods = _server.All(KubeResource.Pods);
        foreach (var claim in _server.All(KubeResource.PersistentVolumeClaims))
        {
            var meta = claim["metadata"]!;
            var (ns, name) = ((string)meta["namespace"]!, (string)meta["name"]!);
            var inUse = pods.Any(p => (string?)p["metadata"]!["namespace"] == ns && Claims(p).Contains(name));
            if (meta["deletionTimestamp"] is not null)
            {
                if (!inUse)
                {
                    _server.Mutate(KubeResource.PersistentVolumeClaims, ns, name, c =>
                        c["metadata"]!["finalizers"] = new JsonArray((c["metadata"]!["finalizers"] as JsonArray ?? [])
                            .Where(f => (string?)f != Admission.PvcProtection).Select(f => f?.DeepClone()).ToArray()));
                }

                continue;
            }

            if ((string?)claim["status"]?["phase"] == "Bound")
            {
                continue;
            }

            var spec = claim["spec"]!;
            var storageClass = (string?)spec["storageClassName"] is { } scName ? _server.Peek(KubeResource.StorageClasses, null, scName) : null;
            if (storageClass is null)
            {
                continue;
            }

            if ((string?)storageClass["volumeBindingMode"] == "WaitForFirstConsumer" && !inUse)
            {
                Event(ns, "PersistentVolumeClaim", name, "Normal", "WaitForFirstConsumer", "waiting for first consumer to be created before binding");
                continue;
            }

            if (ProvisioningFailure is { } failure)
            {
                Event(ns, "PersistentVolumeClaim", name, "Warning", "ProvisioningFailed", failure);
                continue;
            }

            var requested = (string)spec["resources"]!["requests"]!["storage"]!;
            string? data = null;
            if (spec["dataSourceRef"] is JsonObject source && (string?)source["kind"] == "VolumeSnapshot")
            {
                var sourceNs = (string?)source["namespace"] ?? ns;
                var snapshot = sourceNs == ns ? _server.Peek(KubeResource.VolumeSnapshots, ns, (string)source["name"]!) : null;
                if (snapshot is null || snapshot["status"]?["readyToUse"]?.GetValue<bool>() != true)
                {
                    Event(ns, "PersistentVolumeClaim", name, "Normal", "Provisioning", $"waiting for snapshot {source["name"]} to be ready to use");
                    continue;
                }

                var content = _server.Peek(KubeResource.VolumeSnapshotContents, null, (string)snapshot["status"]!["boundVolumeSnapshotContentName"]!)!;
                var restoreSize = content["status"]!["restoreSize"]!.GetValue<long>();
                if (new ResourceQuantity(requested).Bytes() < restoreSize)
                {
                    Event(ns, "PersistentVolumeClaim", name, "Warning", "ProvisioningFailed",
                        $"failed to provision volume with StorageClass \"{storageClass["metadata"]!["name"]}\": rpc error: code = OutOfRange desc = requested size {new ResourceQuantity(requested).Bytes()} is smaller than the snapshot's size {restoreSize}");
                    continue;
                }

                data = (string?)content["metadata"]?["annotations"]?[DataAnnotation];
            }

            var volumeName = "pvc-" + (string)meta["uid"]!;
            _server.Seed(KubeResource.PersistentVolumes, new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = volumeName, ["annotations"] = new JsonObject { [DataAnnotation] = data } },
                ["spec"] = new JsonObject
                {
                    ["capacity"] = new JsonObject { ["storage"] = requested },
                    ["accessModes"] = spec["accessModes"]?.DeepClone(),
                    ["csi"] = new JsonObject { ["driver"] = storageClass["provisioner"]?.DeepClone(), ["volumeHandle"] = "vol-" + Guid.NewGuid().ToString("N")[..12] },
                    ["claimRef"] = new JsonObject { ["kind"] = "PersistentVolumeClaim", ["namespace"] = ns, ["name"] = name, ["uid"] = meta["uid"]!.DeepClone() },
                    ["storageClassName"] = storageClass["metadata"]!["name"]!.DeepClone(),
                    ["volumeMode"] = spec["volumeMode"]?.DeepClone() ?? "Filesystem",
                    ["persistentVolumeReclaimPolicy"] = storageClass["reclaimPolicy"]?.DeepClone() ?? "Delete",
                },
                ["status"] = new JsonObject { ["phase"] = "Bound" },
            });
            _server.Mutate(KubeResource.PersistentVolumeClaims, ns, name, c =>
            {
                c["spec"]!["volumeName"] = volumeName;
                c["status"] = new JsonObject
                {
                    ["phase"] = "Bound",
                    ["accessModes"] = spec["accessModes"]?.DeepClone(),
                    ["capacity"] = new JsonObject { ["storage"] = requested },
                };
            });
        }

        // Volumes whose claim is gone are deleted (reclaim policy Delete) or released (Retain).
        foreach (var volume in _server.All(KubeResource.PersistentVolumes))
        {
            var reference = volume["spec"]?["claimRef"];
            if (reference is null)
            {
                continue;
            }

            var claim = _server.Peek(KubeResource.PersistentVolumeClaims, (string?)reference["namespace"], (string)reference["name"]!);
            if (claim is null || (string?)claim["metadata"]!["uid"] != (string?)reference["uid"])
            {
                if ((string?)volume["spec"]!["persistentVolumeReclaimPolicy"] == "Delete")
                {
                    _server.Remove(KubeResource.PersistentVolumes, null, (string)volume["metadata"]!["name"]!);
                }
                else
                {
                    _server.Mutate(KubeResource.PersistentVolumes, null, (string)volume["metadata"]!["name"]!, v => v["status"] = new JsonObject { ["phase"] = "Released" });
                }
            }
        }
    }

    private void ReconcileWorkloads()
    {
        foreach (var deployment in _server.All(KubeResource.Deployments))
        {
            var meta = deployment["metadata"]!;
            var (ns, name) = ((string)meta["namespace"]!, (string)meta["name"]!);
            var replicaSet = $"{name}-{Math.Abs(deployment["spec"]!["template"]!.ToJsonString().GetHashCode(StringComparison.Ordinal)) % 100000:D5}";
            var replicas = deployment["spec"]!["replicas"]?.GetValue<int>() ?? 1;
            if (_server.Peek(KubeResource.ReplicaSets, ns, replicaSet) is null)
            {
                _server.Seed(KubeResource.ReplicaSets, new JsonObject
                {
                    ["metadata"] = new JsonObject
                    {
                        ["name"] = replicaSet,
                        ["namespace"] = ns,
                        ["ownerReferences"] = new JsonArray(Owner(KubeResource.Deployments, deployment)),
                    },
                    ["spec"] = new JsonObject
                    {
                        ["replicas"] = replicas,
                        ["selector"] = deployment["spec"]!["selector"]!.DeepClone(),
                        ["template"] = deployment["spec"]!["template"]!.DeepClone(),
                    },
                });
            }
            else
            {
                _server.Mutate(KubeResource.ReplicaSets, ns, replicaSet, rs => rs["spec"]!["replicas"] = replicas);
            }

            var running = PodsOwnedBy(ns, replicaSet).Count;
            _server.Mutate(KubeResource.Deployments, ns, name, d => d["status"] = new JsonObject
            {
                ["replicas"] = running,
                ["readyReplicas"] = running,
                ["availableReplicas"] = running,
                ["observedGeneration"] = d["metadata"]!["generation"]!.DeepClone(),
            });
        }

        foreach (var replicaSet in _server.All(KubeResource.ReplicaSets))
        {
            var (ns, name) = ((string)replicaSet["metadata"]!["namespace"]!, (string)replicaSet["metadata"]!["name"]!);
            var template = replicaSet["spec"]!["template"]!;
            ScalePods(KubeResource.ReplicaSets, replicaSet, replicaSet["spec"]!["replicas"]?.GetValue<int>() ?? 1,
                i => $"{name}-{i}", _ => template["spec"]!.DeepClone().AsObject());
            var running = PodsOwnedBy(ns, name).Count;
            _server.Mutate(KubeResource.ReplicaSets, ns, name, rs => rs["status"] = new JsonObject { ["replicas"] = running, ["readyReplicas"] = running });
        }

        foreach (var set in _server.All(KubeResource.StatefulSets))
        {
            var (ns, name) = ((string)set["metadata"]!["namespace"]!, (string)set["metadata"]!["name"]!);
            var templates = set["spec"]!["volumeClaimTemplates"] as JsonArray ?? [];
            ScalePods(KubeResource.StatefulSets, set, set["spec"]!["replicas"]?.GetValue<int>() ?? 1, i => $"{name}-{i}", i =>
            {
                var podSpec = set["spec"]!["template"]!["spec"]!.DeepClone().AsObject();
                var volumes = podSpec["volumes"] as JsonArray ?? [];
                foreach (var template in templates)
                {
                    var claim = $"{template!["metadata"]!["name"]}-{name}-{i}";
                    if (_server.Peek(KubeResource.PersistentVolumeClaims, ns, claim) is null)
                    {
                        AddClaim(ns, claim, (string)template["spec"]!["resources"]!["requests"]!["storage"]!);
                    }

                    volumes.Add(new JsonObject { ["name"] = template["metadata"]!["name"]!.DeepClone(), ["persistentVolumeClaim"] = new JsonObject { ["claimName"] = claim } });
                }

                podSpec["volumes"] = volumes;
                return podSpec;
            });
            var running = PodsOwnedBy(ns, name).Count;
            _server.Mutate(KubeResource.StatefulSets, ns, name, s => s["status"] = new JsonObject { ["replicas"] = running, ["readyReplicas"] = running });
        }
    }

    private void ScalePods(KubeResource ownerResource, JsonObject owner, int replicas, Func<int, string> podName, Func<int, JsonObject> podSpec)
    {
        var ns = (string)owner["metadata"]!["namespace"]!;
        var ownerName = (string)owner["metadata"]!["name"]!;
        var pods = PodsOwnedBy(ns, ownerName);
        for (var i = 0; i < replicas; i++)
        {
            var name = podName(i);
            if (pods.All(p => (string?)p["metadata"]!["name"] != name))
            {
                _server.Seed(KubeResource.Pods, new JsonObject
                {
                    ["metadata"] = new JsonObject
                    {
                        ["name"] = name,
                        ["namespace"] = ns,
                        ["labels"] = owner["spec"]!["template"]!["metadata"]?["labels"]?.DeepClone(),
                        ["ownerReferences"] = new JsonArray(Owner(ownerResource, owner)),
                    },
                    ["spec"] = podSpec(i),
                    ["status"] = new JsonObject { ["phase"] = "Running" },
                });
            }
        }

        foreach (var pod in pods)
        {
            var name = (string)pod["metadata"]!["name"]!;
            if (Enumerable.Range(0, replicas).Any(i => podName(i) == name))
            {
                _firstSeen.TryRemove("shutdown/" + name, out _);
                continue;
            }

            var since = _firstSeen.GetOrAdd("shutdown/" + name, _ => Stopwatch.GetTimestamp());
            if (Stopwatch.GetElapsedTime(since) >= PodShutdown)
            {
                _server.Remove(KubeResource.Pods, ns, name);
                _firstSeen.TryRemove("shutdown/" + name, out _);
            }
        }
    }

    private List<JsonObject> PodsOwnedBy(string ns, string owner) =>
        _server.All(KubeResource.Pods, ns).Where(p => (p["metadata"]!["ownerReferences"] as JsonArray ?? []).Any(o => (string?)o!["name"] == owner)).ToList();

    private static JsonObject Owner(KubeResource resource, JsonObject owner) => new()
    {
        ["apiVersion"] = resource.ApiVersion,
        ["kind"] = resource.Kind,
        ["name"] = owner["metadata"]!["name"]!.DeepClone(),
        ["uid"] = owner["metadata"]!["uid"]!.DeepClone(),
        ["controller"] = true,
        ["blockOwnerDeletion"] = true,
    };

    private static IEnumerable<string> Claims(JsonObject pod) =>
        (pod["spec"]?["volumes"] as JsonArray ?? []).Select(v => (string?)v?["persistentVolumeClaim"]?["claimName"]).OfType<string>();

    private void Event(string ns, string kind, string name, string type, string reason, string message)
    {
        var id = $"{name}.{(uint)$"{reason}/{message}".GetHashCode(StringComparison.Ordinal):x8}";
        if (_server.Peek(KubeResource.Events, ns, id) is not null)
        {
            return;
        }

        _server.Seed(KubeResource.Events, new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = id, ["namespace"] = ns },
            ["involvedObject"] = new JsonObject { ["kind"] = kind, ["name"] = name, ["namespace"] = ns },
            ["type"] = type,
            ["reason"] = reason,
            ["message"] = message,
            ["count"] = 1,
            ["lastTimestamp"] = _server.Time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        });
    }

    private static JsonObject Annotations(JsonObject item)
    {
        var meta = item["metadata"]!.AsObject();
        if (meta["annotations"] is not JsonObject annotations)
        {
            meta["annotations"] = annotations = new JsonObject();
        }

        return annotations;
    }

    /// <summary>Parses JSON after putting each value (as text) in place of its <c>&lt;index&gt;</c>.</summary>
    private static JsonObject Json(string template, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            template = template.Replace($"<{i}>", Convert.ToString(values[i], CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }

        return JsonNode.Parse(template)!.AsObject();
    }
}
