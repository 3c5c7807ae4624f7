using System.Globalization;
using Lifeboat.Core.Retention;
using Lifeboat.Core.Scheduling;
using Lifeboat.Core.Storage;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Volumes;

namespace Lifeboat.Kubernetes.Resources;

/// <summary>One run of a resource backup schedule.</summary>
/// <param name="Taken">The slot's backup, or null when it already existed (a retry of the slot).</param>
/// <param name="Deleted">Backups retention removed (or would, in a dry run), with the reason.</param>
public sealed record ScheduleRunResult(string Name, DateTimeOffset Slot, BackupManifest? Taken, IReadOnlyList<(BackupManifest Backup, string Reason)> Deleted);

/// <summary>
/// For a CronJob: takes the slot's backup, named <c>&lt;schedule&gt;-&lt;UTC slot yyyyMMddHHmmss&gt;</c> from the latest
/// cron time at or before now, so that a retried or late job finds it instead of taking another; then applies
/// retention to the schedule's backups (the same <see cref="TimedRetention"/> rules as volume snapshots). Only
/// Completed backups count; the newest Completed one is never deleted; a PartiallyFailed one goes once a newer
/// Completed one exists.
/// </summary>
public sealed class ResourceBackupSchedule(KubeClient client, IStepLog log, TimeProvider time)
{
    public static string NameFor(string schedule, DateTimeOffset slot) =>
        $"{schedule}-{slot.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture)}";

    public async Task<ScheduleRunResult> RunAsync(ISnapshotStore store, string schedule, FullSnapshotSchedule cron, ResourceBackupRequest template,
        TimedRetentionPolicy retention, bool dryRun, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cron);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(retention);
        retention.Validate();
        var slot = cron.LatestAtOrBefore(time.GetUtcNow());
        var name = NameFor(schedule, slot);
        ResourceBackupCatalog.ValidateName(name);
        var catalog = new ResourceBackupCatalog(store);
        BackupManifest? taken = null;
        if (await catalog.FindAsync(name, cancellationToken) is not null)
        {
            log.Info($"backup {name} of this slot exists already; not taking another");
        }
        else if (dryRun)
        {
            log.Info($"[dry run] would take backup {name}");
        }
        else
        {
            taken = await new ResourceBackupper(client, log, time).BackupAsync(store, template with { Name = name, Schedule = schedule }, cancellationToken);
        }

        var backups = (await catalog.ListAsync(cancellationToken)).Where(m => m.Schedule == schedule).ToList();
        var deleted = Prune(backups, retention, time.GetUtcNow());
        foreach (var (backup, reason) in deleted)
        {
            log.Info($"{(dryRun ? "[dry run] would delete" : "deleting")} backup {backup.Name}: {reason}");
            if (!dryRun)
            {
                await catalog.DeleteAsync(backup.Name, cancellationToken);
            }
        }

        return new ScheduleRunResult(name, slot, taken, deleted);
    }

    /// <summary>The backups retention lets go, oldest first. Pure.</summary>
    public static List<(BackupManifest Backup, string Reason)> Prune(IReadOnlyList<BackupManifest> backups, TimedRetentionPolicy retention, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(backups);
        var completed = backups.Where(b => !b.Partial).ToList();
        var newestGood = completed.MaxBy(b => b.StartedAt);
        var expired = TimedRetention.Expired(completed, b => b.StartedAt, retention, now);
        var result = expired.Where(e => e.Key != newestGood).Select(e => (e.Key, e.Value)).ToList();
        if (newestGood is not null)
        {
            result.AddRange(backups.Where(b => b.Partial && b.StartedAt < newestGood.StartedAt)
                .Select(b => (b, $"partially failed, and the newer backup {newestGood.Name} completed")));
        }

        return result.OrderBy(r => r.Item1.StartedAt).ToList();
    }
}
