using System.Globalization;
using k8s.Models;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Models;

namespace Lifeboat.Kubernetes.Volumes;

/// <summary>How long to wait for a snapshot: until the storage system cuts it, then until it is ready to use.</summary>
public sealed record SnapshotWaitOptions
{
    /// <summary>From creation until <c>status.creationTime</c> (the point in time is fixed from then on).</summary>
    public TimeSpan CutTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>From the cut until <c>readyToUse</c> (uploading can take hours on clouds for a first, large snapshot).</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromHours(2);
}

public enum SnapshotOutcome
{
    /// <summary>Ready to use.</summary>
    Ready,

    /// <summary>Cut (the point in time is fixed) but not yet ready when the ready timeout passed; it may still become ready.</summary>
    CutNotReady,

    /// <summary>Not cut within the cut timeout: no point in time was captured.</summary>
    NotCut,

    /// <summary>Deleted while waiting.</summary>
    Deleted,
}

public sealed record SnapshotWaitResult(VolumeSnapshot? Snapshot, SnapshotOutcome Outcome, string? LastError);

/// <summary>A claim checked for snapshotting, and the class to snapshot it with (null: let the controller pick the driver's default).</summary>
public sealed record SnapshotSource(V1PersistentVolumeClaim Claim, string? ClassName, string? Driver);

/// <summary>
/// Takes VolumeSnapshots of claims: checks the claim exists and is Bound, picks the class (the one asked for, else
/// the default class of the claim's CSI driver), creates the snapshot under a deterministic name — adopting it when an
/// earlier attempt already made it, so retries never duplicate — and waits through bound, cut and ready, saying what
/// the controller reports while it retries.
/// </summary>
public sealed class VolumeSnapshotter(KubeClient client, IStepLog log, TimeProvider time)
{
    private readonly Dictionary<string, (string? Class, string? Refusal, string? Hint)> _defaultClassByDriver = new(StringComparer.Ordinal);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <exception cref="VolumeRefusedException">The claim is missing, not Bound, being deleted, or has no usable class.</exception>
    public async Task<SnapshotSource> CheckSourceAsync(string ns, string claimName, string? className, CancellationToken cancellationToken)
    {
        var claim = await client.TryGetAsync<V1PersistentVolumeClaim>(KubeResource.PersistentVolumeClaims, ns, claimName, cancellationToken)
            ?? throw new VolumeRefusedException($"PVC {ns}/{claimName} does not exist", $"check the name: kubectl get pvc -n {ns}");
        return await CheckSourceAsync(claim, className, cancellationToken);
    }

    /// <inheritdoc cref="CheckSourceAsync(string, string, string?, CancellationToken)"/>
    public async Task<SnapshotSource> CheckSourceAsync(V1PersistentVolumeClaim claim, string? className, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var name = claim.FullName();
        if (claim.Metadata.DeletionTimestamp is not null)
        {
            throw new VolumeRefusedException($"PVC {name} is being deleted", "snapshot it before deleting it, or restore from an existing snapshot");
        }

        if (claim.Status?.Phase != "Bound")
        {
            throw new VolumeRefusedException(
                $"PVC {name} is {claim.Status?.Phase ?? "Pending"}, not Bound: a snapshot of an unbound claim fails and is not retried",
                "wait until it is Bound (a WaitForFirstConsumer storage class binds it when a pod first mounts it)")
            {
                ClaimNotBound = true,
            };
        }

        var driver = await DriverAsync(claim, cancellationToken);
        return new SnapshotSource(claim, await ResolveClassAsync(claim, driver, className, cancellationToken), driver);
    }

    /// <summary>
    /// Creates the snapshot, or adopts the one an earlier attempt made under the same name from the same claim.
    /// </summary>
    /// <exception cref="VolumeRefusedException">The name is taken by a snapshot of something else.</exception>
    public async Task<(VolumeSnapshot Snapshot, bool Created)> CreateAsync(SnapshotSource source, string name, IReadOnlyDictionary<string, string> labels,
        CancellationToken cancellationToken, bool dryRun = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        var ns = source.Claim.Metadata.NamespaceProperty!;
        var claimName = source.Claim.Metadata.Name!;
        var snapshot = new VolumeSnapshot
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = new Dictionary<string, string>(labels, StringComparer.Ordinal) },
            Spec = new VolumeSnapshotSpec
            {
                Source = new VolumeSnapshotSource { PersistentVolumeClaimName = claimName },
                VolumeSnapshotClassName = source.ClassName,
            },
        };
        var existing = await client.TryGetAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, ns, name, cancellationToken);
        if (existing is null)
        {
            try
            {
                var created = await client.CreateAsync(KubeResource.VolumeSnapshots, ns, snapshot, cancellationToken, dryRun);
                return (created, true);
            }
            catch (KubeConflictException ex) when (ex.AlreadyExists)
            {
                existing = await client.GetAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, ns, name, cancellationToken);
            }
        }

        if (existing.Spec.Source.PersistentVolumeClaimName != claimName)
        {
            throw new VolumeRefusedException(
                $"VolumeSnapshot {ns}/{name} already exists and is not a snapshot of PVC {claimName} (source: {existing.Spec.Source.PersistentVolumeClaimName ?? existing.Spec.Source.VolumeSnapshotContentName})",
                "choose another name (--name), or delete that snapshot if it is not needed");
        }

        if (existing.Metadata.DeletionTimestamp is not null)
        {
            throw new VolumeRefusedException($"VolumeSnapshot {ns}/{name} is being deleted", "run again once it is gone");
        }

        log.Info($"VolumeSnapshot {ns}/{name} already exists (an earlier attempt made it): using it");
        return (existing, false);
    }

    /// <summary>Waits through bound, cut and ready, printing each stage and each new error the controller reports.</summary>
    public async Task<SnapshotWaitResult> WaitAsync(VolumeSnapshot snapshot, SnapshotWaitOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(options);
        var (ns, name) = (snapshot.Metadata.NamespaceProperty!, snapshot.Metadata.Name!);
        var waiter = new ObjectWaiter(client, time) { PollInterval = PollInterval };
        string? lastError = null;
        var bound = false;
        var cut = false;
        var deleted = false;
        bool Observe(VolumeSnapshot? current)
        {
            if (current is null)
            {
                deleted = true;
                return true;
            }

            var status = current.Status;
            if (status?.Error?.Message is { Length: > 0 } error && error != lastError)
            {
                lastError = error;
                log.Warn($"{ns}/{name}: the snapshot controller reports: {error} (it keeps retrying)");
            }

            if (!bound && status?.BoundVolumeSnapshotContentName is { } content)
            {
                bound = true;
                log.Info($"{ns}/{name}: bound to VolumeSnapshotContent {content}");
            }

            if (!cut && status?.CreationTime is { } at)
            {
                cut = true;
                lastError = null;
                log.Info($"{ns}/{name}: cut at {at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC (the point in time is fixed)");
            }

            return cut;
        }

        var current = await waiter.WaitAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, ns, name, Observe, time.GetUtcNow() + options.CutTimeout, cancellationToken);
        if (deleted)
        {
            return new SnapshotWaitResult(null, SnapshotOutcome.Deleted, lastError);
        }

        if (!cut)
        {
            return new SnapshotWaitResult(current, SnapshotOutcome.NotCut, lastError);
        }

        var ready = false;
        current = await waiter.WaitAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, ns, name, s =>
        {
            Observe(s);
            ready = s?.Status?.ReadyToUse == true;
            return s is null || ready;
        }, time.GetUtcNow() + options.ReadyTimeout, cancellationToken);
        if (deleted)
        {
            return new SnapshotWaitResult(null, SnapshotOutcome.Deleted, lastError);
        }

        if (ready)
        {
            log.Info($"{ns}/{name}: ready to use (restore size {current!.Status?.RestoreSize ?? "unknown"})");
            return new SnapshotWaitResult(current, SnapshotOutcome.Ready, null);
        }

        return new SnapshotWaitResult(current, SnapshotOutcome.CutNotReady, lastError);
    }

    /// <summary>The CSI driver behind a claim: its volume's, else its storage class's provisioner; null when unknown or not readable.</summary>
    public async Task<string?> DriverAsync(V1PersistentVolumeClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        try
        {
            if (claim.Spec.VolumeName is { Length: > 0 } volumeName
                && await client.TryGetAsync<V1PersistentVolume>(KubeResource.PersistentVolumes, null, volumeName, cancellationToken) is { } volume)
            {
                if (volume.Spec.Csi?.Driver is { } driver)
                {
                    return driver;
                }

                throw new VolumeRefusedException(
                    $"PVC {claim.FullName()} is bound to {volumeName}, which is not a CSI volume: VolumeSnapshots need a CSI driver",
                    "migrate the volume to a CSI storage class, or back it up another way");
            }
        }
        catch (KubeForbiddenException ex)
        {
            log.Warn($"cannot read V1PersistentVolume {claim.Spec.VolumeName} ({ex.Message}); using the storage class to find the driver");
        }

        if (claim.Spec.StorageClassName is not { Length: > 0 } className)
        {
            return null;
        }

        try
        {
            return (await client.TryGetAsync<V1StorageClass>(KubeResource.StorageClasses, null, className, cancellationToken))?.Provisioner;
        }
        catch (KubeForbiddenException ex)
        {
            log.Warn($"cannot read StorageClass {className} ({ex.Message})");
            return null;
        }
    }

    private async Task<string?> ResolveClassAsync(V1PersistentVolumeClaim claim, string? driver, string? className, CancellationToken cancellationToken)
    {
        if (className is not null)
        {
            if (className.Length == 0)
            {
                throw new ArgumentException("--class cannot be empty: give a VolumeSnapshotClass name, or leave it out to use the driver's default");
            }

            try
            {
                var chosen = await client.TryGetAsync<VolumeSnapshotClass>(KubeResource.VolumeSnapshotClasses, null, className, cancellationToken)
                    ?? throw new VolumeRefusedException($"VolumeSnapshotClass {className} does not exist", "list them with: kubectl get volumesnapshotclass");
                if (driver is not null && chosen.Driver != driver)
                {
                    throw new VolumeRefusedException(
                        $"VolumeSnapshotClass {className} is for driver {chosen.Driver}, but PVC {claim.FullName()} is served by {driver}",
                        $"pass a class whose driver is {driver}, or leave --class out to use its default");
                }
            }
            catch (KubeForbiddenException ex)
            {
                log.Warn($"cannot check VolumeSnapshotClass {className} ({ex.Message}); using it as given");
            }

            return className;
        }

        if (driver is null)
        {
            log.Warn($"the CSI driver of PVC {claim.FullName()} is not known here; leaving the class to the snapshot controller's default");
            return null;
        }

        if (!_defaultClassByDriver.TryGetValue(driver, out var resolved))
        {
            resolved = await DefaultClassAsync(driver, cancellationToken);
            _defaultClassByDriver[driver] = resolved;
        }

        if (resolved.Refusal is not null)
        {
            throw new VolumeRefusedException($"{resolved.Refusal} (PVC {claim.FullName()})", resolved.Hint);
        }

        return resolved.Class;
    }

    private async Task<(string? Class, string? Refusal, string? Hint)> DefaultClassAsync(string driver, CancellationToken cancellationToken)
    {
        List<VolumeSnapshotClass> classes;
        try
        {
            classes = await client.ListAllAsync<VolumeSnapshotClass>(KubeResource.VolumeSnapshotClasses, null, null, cancellationToken).ToListAsync(cancellationToken);
        }
        catch (KubeForbiddenException ex)
        {
            log.Warn($"cannot list VolumeSnapshotClasses ({ex.Message}); leaving the class to the snapshot controller's default");
            return (null, null, null);
        }

        var forDriver = classes.Where(c => c.Driver == driver).ToList();
        var defaults = forDriver.Where(c => c.IsDefault).Select(c => c.Metadata.Name!).ToList();
        return defaults.Count switch
        {
            1 => (defaults[0], null, null),
            0 when forDriver.Count == 0 => (null, $"no VolumeSnapshotClass exists for CSI driver {driver}; not every CSI driver supports snapshots",
                $"create a VolumeSnapshotClass for {driver} with the annotation {VolumeSnapshotClass.DefaultClassAnnotation}: \"true\" (if the driver supports snapshots)"),
            0 => (null, $"no default VolumeSnapshotClass for CSI driver {driver}",
                $"pass --class (one of: {string.Join(", ", forDriver.Select(c => c.Metadata.Name))}), or annotate one with {VolumeSnapshotClass.DefaultClassAnnotation}: \"true\""),
            _ => (null, $"several default VolumeSnapshotClasses for CSI driver {driver}: {string.Join(", ", defaults)}",
                "pass --class, or keep the default annotation on only one of them"),
        };
    }
}
