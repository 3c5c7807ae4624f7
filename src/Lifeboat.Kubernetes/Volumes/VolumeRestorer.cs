using System.Globalization;
using System.Text.Json;
using k8s.Models;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Models;

namespace Lifeboat.Kubernetes.Volumes;

public sealed record RestoreOptions
{
    public required string Namespace { get; init; }

    public required string Snapshot { get; init; }

    public string? StorageClass { get; init; }

    public ResourceQuantity? Size { get; init; }

    /// <summary>How long to wait for the new claim to be Bound.</summary>
    public TimeSpan BindTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>In place: how long to wait for pods to stop and the old claim to go.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>In place: the safety snapshot's waits.</summary>
    public SnapshotWaitOptions SafetySnapshot { get; init; } = new();

    /// <summary>In place: go on although pods that no Deployment or StatefulSet owns mount the claim.</summary>
    public bool Force { get; init; }
}

/// <summary>
/// Restores volumes from VolumeSnapshots: into a new claim (<c>dataSourceRef</c> to the snapshot, at least its
/// restoreSize, the same volume mode, waiting until Bound), or in place over an existing claim — the Deployments and
/// StatefulSets that mount it scaled to zero, a safety snapshot of it taken and ready, the claim deleted and made again
/// under the same name from the snapshot, the replicas put back — printing every step and, when a step fails, what
/// state things are in and how to go on.
/// </summary>
public sealed class VolumeRestorer(KubeClient client, IStepLog log, TimeProvider time)
{
    /// <summary>On a workload being restored: its replicas before Lifeboat scaled it to zero (so a re-run can put them back).</summary>
    public const string ReplicasAnnotation = "lifeboat.io/replicas-before-restore";

    public const string RestoredFromAnnotation = "lifeboat.io/restored-from";

    private static readonly string[] BindingAnnotationPrefixes = ["pv.kubernetes.io/", "volume.beta.kubernetes.io/", "volume.kubernetes.io/"];

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Creates <paramref name="claimName"/> from the snapshot and waits until it is Bound.</summary>
    public async Task<V1PersistentVolumeClaim> RestoreToNewAsync(RestoreOptions options, string claimName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var ns = options.Namespace;
        var (snapshot, restoreSize, driver, sourceMode) = await ReadySnapshotAsync(options, cancellationToken);
        if (await client.TryGetAsync<V1PersistentVolumeClaim>(KubeResource.PersistentVolumeClaims, ns, claimName, cancellationToken) is not null)
        {
            throw new VolumeRefusedException($"PVC {ns}/{claimName} already exists; nothing was changed",
                $"choose another --to-pvc, or restore over it with --in-place --pvc {claimName}");
        }

        var original = snapshot.Spec.Source.PersistentVolumeClaimName is { } sourceName
            ? await client.TryGetAsync<V1PersistentVolumeClaim>(KubeResource.PersistentVolumeClaims, ns, sourceName, cancellationToken)
            : null;
        var claim = await BuildClaimAsync(options, claimName, original, restoreSize, driver, sourceMode, cancellationToken);
        return await CreateAndBindAsync(options, claim, cancellationToken);
    }

    /// <summary>Restores <paramref name="claimName"/> in place from the snapshot.</summary>
    public async Task<V1PersistentVolumeClaim> RestoreInPlaceAsync(RestoreOptions options, string claimName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var ns = options.Namespace;
        var (snapshot, restoreSize, driver, sourceMode) = await ReadySnapshotAsync(options, cancellationToken);
        var current = await client.TryGetAsync<V1PersistentVolumeClaim>(KubeResource.PersistentVolumeClaims, ns, claimName, cancellationToken)
            ?? throw new VolumeRefusedException($"PVC {ns}/{claimName} does not exist, so there is nothing to restore in place",
                $"restore into a new claim: --to-pvc {claimName}");
        if (current.Metadata.DeletionTimestamp is not null)
        {
            throw new VolumeRefusedException($"PVC {ns}/{claimName} is already being deleted", $"wait until it is gone, then restore with --to-pvc {claimName}");
        }

        var replacement = await BuildClaimAsync(options, claimName, current, restoreSize, driver, sourceMode, cancellationToken);
        if (snapshot.Spec.Source.PersistentVolumeClaimName != claimName)
        {
            log.Warn($"snapshot {snapshot.Metadata.Name} was taken from PVC {snapshot.Spec.Source.PersistentVolumeClaimName}, not {claimName}");
        }

        // 1. Who mounts it: workloads to scale down, and pods nothing here can stop.
        var (workloads, strays) = await UsersAsync(ns, claimName, cancellationToken);
        if (strays.Count > 0 && !options.Force)
        {
            throw new VolumeRefusedException(
                $"pods {string.Join(", ", strays)} mount PVC {ns}/{claimName} and are not managed by a Deployment or StatefulSet; nothing was changed",
                "stop them first, or pass --force to go on (the old claim is deleted only once they are gone)");
        }

        log.Info($"1/6 restoring PVC {ns}/{claimName} from VolumeSnapshot {snapshot.Metadata.Name}; it is used by {(workloads.Count == 0 ? "no workload" : string.Join(", ", workloads.Select(w => w.Describe)))}");

        // 2. Scale down, remembering the replicas on each workload.
        foreach (var workload in workloads)
        {
            await ScaleDownAsync(ns, workload, cancellationToken);
        }

        try
        {
            await WaitUntilUnmountedAsync(ns, claimName, options.StopTimeout, cancellationToken);

            // 3. A safety snapshot of what is there now, taken while nothing writes to it.
            var snapshotter = new VolumeSnapshotter(client, log, time) { PollInterval = PollInterval };
            var source = await snapshotter.CheckSourceAsync(current, null, cancellationToken);
            var safetyName = SnapshotNames.ForOnDemand(claimName, time.GetUtcNow(), "pre-restore");
            var labels = SnapshotNames.Labels(claimName, "pre-restore", null);
            labels[SnapshotNames.KeepLabel] = "true";
            var (safety, _) = await snapshotter.CreateAsync(source, safetyName, labels, cancellationToken);
            log.Info($"3/6 safety snapshot {ns}/{safetyName} of the current data: waiting until it is ready");
            var waited = await snapshotter.WaitAsync(safety, options.SafetySnapshot, cancellationToken);
            if (waited.Outcome != SnapshotOutcome.Ready)
            {
                throw new VolumeOperationFailedException(
                    $"the safety snapshot {ns}/{safetyName} did not become ready ({waited.Outcome}{(waited.LastError is null ? "" : ": " + waited.LastError)}); PVC {claimName} was not touched",
                    "fix what the snapshot controller reports, then run again");
            }

            // 4. The old claim goes.
            log.Info($"4/6 deleting PVC {ns}/{claimName} (its data is kept in {safetyName})");
            await client.DeleteAsync(KubeResource.PersistentVolumeClaims, ns, claimName, cancellationToken,
                new DeleteOptions { PreconditionUid = current.Metadata.Uid });
            var waiter = new ObjectWaiter(client, time) { PollInterval = PollInterval };
            var left = await waiter.WaitAsync<V1PersistentVolumeClaim>(KubeResource.PersistentVolumeClaims, ns, claimName, c => c is null,
                time.GetUtcNow() + options.StopTimeout, cancellationToken);
            if (left is not null)
            {
                throw new VolumeOperationFailedException(
                    $"PVC {ns}/{claimName} is still terminating after {options.StopTimeout} (finalizers: {string.Join(", ", left.Metadata.Finalizers ?? [])}); the workloads stay scaled down",
                    $"find what still mounts it (kubectl describe pvc -n {ns} {claimName}), then run again");
            }

            // 5. The same claim again, from the snapshot.
            log.Info($"5/6 creating PVC {ns}/{claimName} from VolumeSnapshot {snapshot.Metadata.Name}");
            V1PersistentVolumeClaim restored;
            try
            {
                restored = await CreateAndBindAsync(options, replacement, cancellationToken);
            }
            catch (Exception ex) when (ex is VolumeOperationFailedException or KubeException)
            {
                throw new VolumeOperationFailedException(
                    $"{ex.Message}; the workloads stay scaled down and the previous data is in VolumeSnapshot {ns}/{safetyName}",
                    $"fix the cause and run again with --to-pvc {claimName} from either snapshot, then scale the workloads back (annotation {ReplicasAnnotation})");
            }

            // 6. Replicas back.
            foreach (var workload in workloads)
            {
                await ScaleBackAsync(ns, workload, cancellationToken);
            }

            log.Info($"6/6 done: PVC {ns}/{claimName} holds the data of {snapshot.Metadata.Name}; the previous data stays in {safetyName} (labelled {SnapshotNames.KeepLabel}=true)");
            return restored;
        }
        catch (Exception ex) when (ex is VolumeOperationFailedException or VolumeRefusedException or KubeException)
        {
            if (await StillHasClaimAsync(ns, claimName, current.Metadata.Uid, cancellationToken))
            {
                // Nothing was deleted: put the replicas back before reporting.
                log.Warn($"stopped before deleting anything: {ex.Message}");
                foreach (var workload in workloads)
                {
                    await ScaleBackAsync(ns, workload, cancellationToken);
                }
            }

            throw;
        }
    }

    private async Task<bool> StillHasClaimAsync(string ns, string name, string? uid, CancellationToken cancellationToken) =>
        (await client.TryGetAsync<V1PersistentVolumeClaim>(KubeResource.PersistentVolumeClaims, ns, name, cancellationToken)) is { } c
        && c.Metadata.Uid == uid && c.Metadata.DeletionTimestamp is null;

    private async Task<(VolumeSnapshot Snapshot, ResourceQuantity? RestoreSize, string? Driver, string? SourceMode)> ReadySnapshotAsync(RestoreOptions options,
        CancellationToken cancellationToken)
    {
        var ns = options.Namespace;
        var snapshot = await client.TryGetAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, ns, options.Snapshot, cancellationToken)
            ?? throw new VolumeRefusedException($"VolumeSnapshot {ns}/{options.Snapshot} does not exist", $"list the snapshots with: lifeboat volumes list -n {ns}");
        if (snapshot.Status?.ReadyToUse != true)
        {
            var why = snapshot.Status?.Error?.Message is { Length: > 0 } error ? $"; the controller reports: {error}" : "";
            throw new VolumeRefusedException($"VolumeSnapshot {ns}/{options.Snapshot} is not ready to use{why}; nothing was changed",
                "wait until READYTOUSE is true (lifeboat volumes list), or pick another snapshot");
        }

        var restoreSize = StorageSize.TryParse(snapshot.Status.RestoreSize, out var size) ? size : null;
        string? driver = null;
        string? mode = null;
        if (snapshot.Status.BoundVolumeSnapshotContentName is { } contentName)
        {
            try
            {
                var content = await client.TryGetAsync<VolumeSnapshotContent>(KubeResource.VolumeSnapshotContents, null, contentName, cancellationToken);
                if (content is not null && (content.Spec.VolumeSnapshotRef.Name != snapshot.Metadata.Name || content.Spec.VolumeSnapshotRef.NamespaceProperty != ns))
                {
                    throw new VolumeRefusedException(
                        $"VolumeSnapshot {ns}/{options.Snapshot} says it is bound to {contentName}, but that content belongs to {content.Spec.VolumeSnapshotRef.NamespaceProperty}/{content.Spec.VolumeSnapshotRef.Name}",
                        "the binding is not verified; do not restore from it");
                }

                driver = content?.Spec.Driver;
                mode = content?.Spec.SourceVolumeMode;
                // Drivers do not always agree with themselves (the content's bytes vs the snapshot's quantity): take the larger.
                if (content?.Status?.RestoreSize is { } bytes && (restoreSize is null || bytes > restoreSize.ToDecimal()))
                {
                    restoreSize = StorageSize.FromBytes(bytes);
                }
            }
            catch (KubeForbiddenException ex)
            {
                log.Warn($"cannot read VolumeSnapshotContent {contentName} ({ex.Message}); the driver and volume mode are not checked");
            }
        }

        return (snapshot, restoreSize, driver, mode);
    }

    private async Task<V1PersistentVolumeClaim> BuildClaimAsync(RestoreOptions options, string name, V1PersistentVolumeClaim? like, ResourceQuantity? restoreSize,
        string? driver, string? sourceMode, CancellationToken cancellationToken)
    {
        var ns = options.Namespace;
        var className = options.StorageClass ?? like?.Spec.StorageClassName ?? await ClassOfDriverAsync(driver, cancellationToken);
        if (className is not null && driver is not null)
        {
            try
            {
                var storageClass = await client.TryGetAsync<V1StorageClass>(KubeResource.StorageClasses, null, className, cancellationToken)
                    ?? throw new VolumeRefusedException($"StorageClass {className} does not exist", "pass --storage-class with a class of the snapshot's CSI driver");
                if (storageClass.Provisioner != driver)
                {
                    throw new VolumeRefusedException(
                        $"StorageClass {className} is provisioned by {storageClass.Provisioner}, but the snapshot was taken by {driver}: a volume can only be restored by the same CSI driver",
                        $"pass --storage-class with a class whose provisioner is {driver}");
                }
            }
            catch (KubeForbiddenException ex)
            {
                log.Warn($"cannot read StorageClass {className} ({ex.Message}); not checked against the snapshot's driver");
            }
        }

        var likeSize = like?.Spec.Resources?.Requests is { } requests && requests.TryGetValue("storage", out var requested) ? requested : null;
        ResourceQuantity size;
        if (options.Size is { } asked)
        {
            if (restoreSize is { } minimum && asked.ToDecimal() < minimum.ToDecimal())
            {
                throw new VolumeRefusedException($"--size {asked} is smaller than the snapshot's restoreSize {minimum}; nothing was changed",
                    $"use --size {minimum} or more (a volume restored from a snapshot cannot be smaller)");
            }

            size = asked;
        }
        else if (restoreSize is { } minimum)
        {
            size = likeSize is { } l && l.ToDecimal() > minimum.ToDecimal() ? l : minimum;
        }
        else
        {
            size = likeSize ?? throw new VolumeRefusedException("the snapshot does not say its restoreSize and its source claim is gone", "pass --size");
        }

        var mode = sourceMode ?? like?.Spec.VolumeMode ?? "Filesystem";
        if (like?.Spec.VolumeMode is { } likeMode && sourceMode is not null && likeMode != sourceMode)
        {
            throw new VolumeRefusedException($"the snapshot holds a {sourceMode} volume but PVC {ns}/{like.Metadata.Name} is {likeMode}",
                "restore into a new claim (--to-pvc), which keeps the snapshot's volume mode");
        }

        var reference = new V1TypedObjectReference { ApiGroup = KubeResource.VolumeSnapshots.Group, Kind = "VolumeSnapshot", Name = options.Snapshot };
        return new V1PersistentVolumeClaim
        {
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = ns,
                Labels = like?.Metadata.Labels is { } labels ? new Dictionary<string, string>(labels, StringComparer.Ordinal) : null,
                Annotations = Annotations(like, $"{ns}/{options.Snapshot}"),
            },
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = like?.Spec.AccessModes ?? ["ReadWriteOnce"],
                StorageClassName = className,
                VolumeMode = mode,
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = size } },
                DataSourceRef = reference,
                DataSource = new V1TypedLocalObjectReference { ApiGroup = reference.ApiGroup, Kind = reference.Kind, Name = reference.Name },
            },
        };
    }

    /// <summary>With no claim to copy from: the storage class of the snapshot's driver (its default one, or the only one); else null (the cluster default).</summary>
    private async Task<string?> ClassOfDriverAsync(string? driver, CancellationToken cancellationToken)
    {
        if (driver is null)
        {
            return null;
        }

        try
        {
            var classes = await client.ListAllAsync<V1StorageClass>(KubeResource.StorageClasses, null, null, cancellationToken)
                .Where(c => c.Provisioner == driver).ToListAsync(cancellationToken);
            var chosen = classes.Count == 1 ? classes[0]
                : classes.SingleOrDefault(c => c.Metadata.Annotation("storageclass.kubernetes.io/is-default-class") == "true");
            if (chosen is null)
            {
                log.Warn($"the source claim is gone and no single storage class of driver {driver} stands out; using the cluster's default class (pass --storage-class to choose)");
            }

            return chosen?.Metadata.Name;
        }
        catch (KubeForbiddenException)
        {
            return null;
        }
    }

    private static Dictionary<string, string> Annotations(V1PersistentVolumeClaim? like, string restoredFrom)
    {
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in like?.Metadata.Annotations ?? new Dictionary<string, string>())
        {
            if (!BindingAnnotationPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal)) && key != "kubectl.kubernetes.io/last-applied-configuration")
            {
                annotations[key] = value;
            }
        }

        annotations[RestoredFromAnnotation] = restoredFrom;
        return annotations;
    }

    private async Task<V1PersistentVolumeClaim> CreateAndBindAsync(RestoreOptions options, V1PersistentVolumeClaim claim, CancellationToken cancellationToken)
    {
        var ns = options.Namespace;
        var name = claim.Metadata.Name!;
        var created = await client.CreateAsync(KubeResource.PersistentVolumeClaims, ns, claim, cancellationToken);
        log.Info($"created PVC {ns}/{name} ({claim.Spec.Resources!.Requests!["storage"]}, {claim.Spec.VolumeMode}, class {claim.Spec.StorageClassName ?? "the cluster default"}) from VolumeSnapshot {options.Snapshot}");
        if (claim.Spec.StorageClassName is { } className)
        {
            try
            {
                if ((await client.TryGetAsync<V1StorageClass>(KubeResource.StorageClasses, null, className, cancellationToken))?.VolumeBindingMode == "WaitForFirstConsumer")
                {
                    log.Info($"StorageClass {className} binds on first use: PVC {ns}/{name} is provisioned from the snapshot when a pod first mounts it");
                    return created;
                }
            }
            catch (KubeForbiddenException)
            {
            }
        }

        var deadline = time.GetUtcNow() + options.BindTimeout;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var current = await client.TryGetAsync<V1PersistentVolumeClaim>(KubeResource.PersistentVolumeClaims, ns, name, cancellationToken)
                ?? throw new VolumeOperationFailedException($"PVC {ns}/{name} was deleted while waiting for it to be bound", null);
            if (current.Status?.Phase == "Bound")
            {
                log.Info($"PVC {ns}/{name} is Bound to {current.Spec.VolumeName} ({(current.Status.Capacity is { } capacity && capacity.TryGetValue("storage", out var bound) ? bound : null)})");
                return current;
            }

            var last = await ReportEventsAsync(ns, name, seen, cancellationToken);
            if (time.GetUtcNow() >= deadline)
            {
                throw new VolumeOperationFailedException(
                    $"PVC {ns}/{name} is not Bound after {options.BindTimeout}{(last is null ? "" : $" (last event: {last})")}",
                    $"see kubectl describe pvc -n {ns} {name}; the claim is left as it is");
            }

            await Task.Delay(PollInterval, time, cancellationToken);
        }
    }

    /// <summary>Prints the claim's Warning events not printed yet; returns the latest event's message.</summary>
    private async Task<string?> ReportEventsAsync(string ns, string claim, HashSet<string> seen, CancellationToken cancellationToken)
    {
        try
        {
            var events = await client.ListAllAsync<Corev1Event>(KubeResource.Events, ns,
                new ListOptions { FieldSelector = $"involvedObject.name={claim},involvedObject.kind=PersistentVolumeClaim" }, cancellationToken).ToListAsync(cancellationToken);
            foreach (var e in events.Where(e => e.Type == "Warning" && seen.Add($"{e.Reason}/{e.Message}")))
            {
                log.Warn($"PVC {ns}/{claim}: {e.Reason}: {e.Message}");
            }

            return events.OrderBy(e => e.LastTimestamp ?? e.EventTime ?? e.Metadata.CreationTimestamp).LastOrDefault()?.Message;
        }
        catch (KubeException ex) when (ex is not KubeUnauthorizedException)
        {
            // Events only explain the wait; not being able to read them must not end it.
            return null;
        }
    }

    private sealed record WorkloadRef(KubeResource Resource, string Name)
    {
        public string Describe => $"{Resource.Kind} {Name}";
    }

    private async Task<(List<WorkloadRef> Workloads, List<string> Strays)> UsersAsync(string ns, string claim, CancellationToken cancellationToken)
    {
        var workloads = new List<WorkloadRef>();
        var strays = new List<string>();
        var deploymentOfReplicaSet = new Dictionary<string, WorkloadRef?>(StringComparer.Ordinal);

        // The replicas of one ReplicaSet share it: read it once.
        async Task<WorkloadRef?> DeploymentOfAsync(string replicaSet)
        {
            if (!deploymentOfReplicaSet.TryGetValue(replicaSet, out var deployment))
            {
                var owner = (await client.TryGetAsync<Workload>(KubeResource.ReplicaSets, ns, replicaSet, cancellationToken))
                    ?.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true && o.Kind == "Deployment");
                deployment = owner is null ? null : new WorkloadRef(KubeResource.Deployments, owner.Name);
                deploymentOfReplicaSet[replicaSet] = deployment;
            }

            return deployment;
        }

        await foreach (var pod in client.ListAllAsync<V1Pod>(KubeResource.Pods, ns, null, cancellationToken))
        {
            if (pod.Status?.Phase is "Succeeded" or "Failed" || !Mounts(pod, claim))
            {
                continue;
            }

            var owner = pod.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true);
            WorkloadRef? workload = owner?.Kind switch
            {
                "StatefulSet" => new WorkloadRef(KubeResource.StatefulSets, owner.Name),
                "ReplicaSet" => await DeploymentOfAsync(owner.Name),
                _ => null,
            };
            if (workload is null)
            {
                strays.Add(pod.Metadata.Name!);
            }
            else if (!workloads.Contains(workload))
            {
                workloads.Add(workload);
            }
        }

        // Workloads scaled down by an earlier, interrupted run have no pods now but still carry the annotation.
        foreach (var resource in new[] { KubeResource.Deployments, KubeResource.StatefulSets })
        {
            await foreach (var w in client.ListAllAsync<Workload>(resource, ns, null, cancellationToken))
            {
                var reference = new WorkloadRef(resource, w.Metadata.Name!);
                if (w.Metadata.Annotation(ReplicasAnnotation) is not null && UsesClaim(w, claim) && !workloads.Contains(reference))
                {
                    workloads.Add(reference);
                }
            }
        }

        return (workloads, strays);
    }

    private static bool Mounts(V1Pod pod, string claim) => pod.Spec.Volumes?.Any(v => v.PersistentVolumeClaim?.ClaimName == claim) == true;

    private static bool UsesClaim(Workload workload, string claim) =>
        workload.Spec.Template?.Spec?.Volumes?.Any(v => v.PersistentVolumeClaim?.ClaimName == claim) == true
        || workload.Spec.VolumeClaimTemplates?.Any(t => claim.StartsWith($"{t.Metadata.Name}-{workload.Metadata.Name}-", StringComparison.Ordinal)) == true;

    private async Task ScaleDownAsync(string ns, WorkloadRef workload, CancellationToken cancellationToken)
    {
        var current = await client.GetAsync<Workload>(workload.Resource, ns, workload.Name, cancellationToken);
        var scale = await client.GetAsync<V1Scale>(workload.Resource, ns, workload.Name, cancellationToken, "scale");
        var replicas = current.Metadata.Annotation(ReplicasAnnotation) is { } saved && int.TryParse(saved, CultureInfo.InvariantCulture, out var r)
            ? r
            : scale.Spec.Replicas ?? 0;
        var patch = JsonSerializer.Serialize(new { metadata = new { annotations = new Dictionary<string, string> { [ReplicasAnnotation] = replicas.ToString(CultureInfo.InvariantCulture) } } });
        await client.PatchAsync<Workload>(workload.Resource, ns, workload.Name, KubePatch.Merge(patch), cancellationToken);
        await client.PatchAsync<V1Scale>(workload.Resource, ns, workload.Name, KubePatch.Merge("{\"spec\":{\"replicas\":0}}"), cancellationToken, "scale");
        log.Info($"2/6 scaled {workload.Describe} from {replicas} to 0 replicas (saved in annotation {ReplicasAnnotation})");
    }

    private async Task ScaleBackAsync(string ns, WorkloadRef workload, CancellationToken cancellationToken)
    {
        var current = await client.GetAsync<Workload>(workload.Resource, ns, workload.Name, cancellationToken);
        if (current.Metadata.Annotation(ReplicasAnnotation) is not { } saved || !int.TryParse(saved, CultureInfo.InvariantCulture, out var replicas))
        {
            return;
        }

        await client.PatchAsync<V1Scale>(workload.Resource, ns, workload.Name, KubePatch.Merge($"{{\"spec\":{{\"replicas\":{replicas}}}}}"), cancellationToken, "scale");
        await client.PatchAsync<Workload>(workload.Resource, ns, workload.Name,
            KubePatch.Merge($"{{\"metadata\":{{\"annotations\":{{\"{ReplicasAnnotation}\":null}}}}}}"), cancellationToken);
        log.Info($"scaled {workload.Describe} back to {replicas} replicas");
    }

    private async Task WaitUntilUnmountedAsync(string ns, string claim, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + timeout;
        while (true)
        {
            var mounting = new List<string>();
            await foreach (var pod in client.ListAllAsync<V1Pod>(KubeResource.Pods, ns, null, cancellationToken))
            {
                if (pod.Status?.Phase is not ("Succeeded" or "Failed") && Mounts(pod, claim))
                {
                    mounting.Add(pod.Metadata.Name!);
                }
            }

            if (mounting.Count == 0)
            {
                log.Info($"no pod mounts PVC {ns}/{claim} any more");
                return;
            }

            if (time.GetUtcNow() >= deadline)
            {
                throw new VolumeOperationFailedException($"pods {string.Join(", ", mounting)} still mount PVC {ns}/{claim} after {timeout}; nothing was deleted",
                    "stop them, then run again");
            }

            await Task.Delay(PollInterval, time, cancellationToken);
        }
    }
}
