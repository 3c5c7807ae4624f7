using k8s.Models;
using Lifeboat.Core.Retention;
using Lifeboat.Core.Scheduling;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Models;

namespace Lifeboat.Kubernetes.Volumes;

public sealed record SnapshotScheduleOptions
{
    /// <summary>The schedule's name: part of every snapshot's name and its <c>lifeboat.io/schedule</c> label.</summary>
    public required string Name { get; init; }

    /// <summary>The CronJob's schedule, to know which slot this run belongs to.</summary>
    public required FullSnapshotSchedule Cron { get; init; }

    public required IReadOnlyList<string> Namespaces { get; init; }

    /// <summary>Claims by name (in every namespace given); with <see cref="Selector"/> empty too, every claim.</summary>
    public IReadOnlyList<string> Claims { get; init; } = [];

    public string? Selector { get; init; }

    public string? ClassName { get; init; }

    public TimedRetentionPolicy Retention { get; init; } = new() { KeepLast = 7 };

    public SnapshotWaitOptions Wait { get; init; } = new();

    public bool DryRun { get; init; }
}

public sealed record ClaimResult(string Namespace, string Claim, string? Snapshot, string Outcome, bool Failed);

public sealed record ScheduleRunResult(DateTimeOffset Slot, List<ClaimResult> Claims, List<SnapshotDeletion> Deleted)
{
    public int Failures => Claims.Count(c => c.Failed);
}

/// <summary>
/// One run of a snapshot schedule (the CronJob's work): for each selected claim, the snapshot of the current slot —
/// created, or found when a retry of this run already made it — then waiting until it is cut and ready, then
/// retention per claim (<see cref="SnapshotRetention"/>). A snapshot fails the run only when it really failed: not cut
/// in time, an error at the deadline, or refused; a claim that is not Bound is skipped with a warning, and a snapshot
/// that is cut but still uploading is left to finish (retention does not count it until it is ready).
/// </summary>
public sealed class SnapshotScheduleRunner(KubeClient client, IStepLog log, TimeProvider time)
{
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    public async Task<ScheduleRunResult> RunAsync(SnapshotScheduleOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        SnapshotNames.ValidateSchedule(options.Name);
        options.Retention.Validate();
        var slot = options.Cron.LatestAtOrBefore(time.GetUtcNow());
        var slotText = SnapshotNames.SlotText(slot);
        var dry = options.DryRun ? "[dry run] " : "";
        log.Info($"{dry}schedule {options.Name}, slot {slot.UtcDateTime:yyyy-MM-dd HH:mm} UTC, retention: {options.Retention}");
        var snapshotter = new VolumeSnapshotter(client, log, time) { PollInterval = PollInterval };
        var results = new List<ClaimResult>();
        var waits = new List<Task<ClaimResult>>();
        foreach (var ns in options.Namespaces)
        {
            foreach (var claim in await SelectAsync(ns, options, results, cancellationToken))
            {
                var claimName = claim.Metadata.Name!;
                var name = SnapshotNames.ForSlot(claimName, options.Name, slot);
                try
                {
                    var source = await snapshotter.CheckSourceAsync(claim, options.ClassName, cancellationToken);
                    if (options.DryRun)
                    {
                        var exists = await client.TryGetAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, ns, name, cancellationToken) is not null;
                        log.Info($"{dry}{(exists ? "exists" : "would create")} VolumeSnapshot {ns}/{name} of PVC {claimName} (class {source.ClassName ?? "the driver's default"})");
                        results.Add(new ClaimResult(ns, claimName, name, exists ? "exists" : "would create", false));
                        continue;
                    }

                    var (snapshot, created) = await snapshotter.CreateAsync(source, name, SnapshotNames.Labels(claimName, options.Name, slotText), cancellationToken);
                    if (created)
                    {
                        log.Info($"created VolumeSnapshot {ns}/{name} of PVC {claimName} (class {source.ClassName ?? "the driver's default"})");
                    }

                    waits.Add(WaitAsync(snapshotter, snapshot, claimName, options.Wait, cancellationToken));
                }
                catch (VolumeRefusedException ex) when (ex.ClaimNotBound)
                {
                    log.Warn($"skipped PVC {ns}/{claimName}: {ex.Message}");
                    results.Add(new ClaimResult(ns, claimName, null, "skipped: not Bound", false));
                }
                catch (Exception ex) when (ex is VolumeRefusedException or KubeException)
                {
                    log.Warn($"FAILED PVC {ns}/{claimName}: {ex.Message}");
                    results.Add(new ClaimResult(ns, claimName, name, "failed: " + ex.Message, true));
                }
            }
        }

        results.AddRange(await Task.WhenAll(waits));
        var deleted = new List<SnapshotDeletion>();
        foreach (var ns in options.Namespaces)
        {
            deleted.AddRange(await PruneAsync(ns, options, cancellationToken));
        }

        return new ScheduleRunResult(slot, results, deleted);
    }

    private async Task<ClaimResult> WaitAsync(VolumeSnapshotter snapshotter, VolumeSnapshot snapshot, string claim, SnapshotWaitOptions wait,
        CancellationToken cancellationToken)
    {
        var (ns, name) = (snapshot.Metadata.NamespaceProperty!, snapshot.Metadata.Name!);
        var result = await snapshotter.WaitAsync(snapshot, wait, cancellationToken);
        var error = result.LastError is null ? "" : $"; last error: {result.LastError}";
        switch (result.Outcome)
        {
            case SnapshotOutcome.Ready:
                return new ClaimResult(ns, claim, name, "ready", false);
            case SnapshotOutcome.CutNotReady when result.LastError is null:
                log.Warn($"{ns}/{name} is cut but not ready after {wait.ReadyTimeout}; it keeps uploading and counts for retention once ready");
                return new ClaimResult(ns, claim, name, "cut, not ready yet", false);
            case SnapshotOutcome.CutNotReady:
                log.Warn($"FAILED {ns}/{name}: cut but not ready after {wait.ReadyTimeout}{error}");
                return new ClaimResult(ns, claim, name, "failed: not ready" + error, true);
            case SnapshotOutcome.NotCut:
                log.Warn($"FAILED {ns}/{name}: not cut within {wait.CutTimeout}{error}");
                return new ClaimResult(ns, claim, name, "failed: not cut" + error, true);
            default:
                log.Warn($"FAILED {ns}/{name}: deleted while waiting for it");
                return new ClaimResult(ns, claim, name, "failed: deleted while waiting", true);
        }
    }

    private async Task<List<V1PersistentVolumeClaim>> SelectAsync(string ns, SnapshotScheduleOptions options, List<ClaimResult> results, CancellationToken cancellationToken)
    {
        var selected = new List<V1PersistentVolumeClaim>();
        if (options.Claims.Count > 0)
        {
            foreach (var name in options.Claims)
            {
                var claim = await client.TryGetAsync<V1PersistentVolumeClaim>(KubeResource.PersistentVolumeClaims, ns, name, cancellationToken);
                if (claim is null)
                {
                    log.Warn($"FAILED PVC {ns}/{name}: it does not exist");
                    results.Add(new ClaimResult(ns, name, null, "failed: PVC does not exist", true));
                }
                else
                {
                    selected.Add(claim);
                }
            }
        }

        if (options.Selector is not null || options.Claims.Count == 0)
        {
            var listed = await client.ListAllAsync<V1PersistentVolumeClaim>(KubeResource.PersistentVolumeClaims, ns,
                new ListOptions { LabelSelector = options.Selector }, cancellationToken).ToListAsync(cancellationToken);
            selected.AddRange(listed.Where(c => selected.All(s => s.Metadata.Name != c.Metadata.Name)));
            if (listed.Count == 0)
            {
                log.Warn($"no PVC in namespace {ns} matches {(options.Selector is null ? "(all claims)" : $"selector {options.Selector}")}");
            }
        }

        return selected;
    }

    private async Task<List<SnapshotDeletion>> PruneAsync(string ns, SnapshotScheduleOptions options, CancellationToken cancellationToken)
    {
        var selector = $"{SnapshotNames.ManagedByLabel}={SnapshotNames.ManagedBy},{SnapshotNames.ScheduleLabel}={options.Name}";
        var snapshots = await client.ListAllAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, ns, new ListOptions { LabelSelector = selector }, cancellationToken)
            .ToListAsync(cancellationToken);
        var claims = await client.ListAllAsync<V1PersistentVolumeClaim>(KubeResource.PersistentVolumeClaims, ns, null, cancellationToken).ToListAsync(cancellationToken);
        var plan = SnapshotRetention.Plan(snapshots, SnapshotRetention.InUse(claims), options.Retention, options.Wait.ReadyTimeout, time.GetUtcNow());
        var done = new List<SnapshotDeletion>();
        foreach (var deletion in plan)
        {
            var name = deletion.Snapshot.Metadata.Name!;
            if (options.DryRun)
            {
                log.Info($"[dry run] would delete VolumeSnapshot {ns}/{name}: {deletion.Reason}");
                done.Add(deletion);
                continue;
            }

            try
            {
                await client.DeleteAsync(KubeResource.VolumeSnapshots, ns, name, cancellationToken,
                    new DeleteOptions { PreconditionUid = deletion.Snapshot.Metadata.Uid, PropagationPolicy = "Background" });
                log.Info($"deleted VolumeSnapshot {ns}/{name}: {deletion.Reason}");
                done.Add(deletion);
            }
            catch (KubeConflictException ex)
            {
                log.Warn($"kept VolumeSnapshot {ns}/{name}: it was replaced since it was listed ({ex.Message})");
            }
        }

        return done;
    }
}
