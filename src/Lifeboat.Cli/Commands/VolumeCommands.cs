using System.CommandLine;
using System.Globalization;
using Lifeboat.Cli.Output;
using Lifeboat.Core.Scheduling;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Models;
using Lifeboat.Kubernetes.Volumes;

namespace Lifeboat.Cli.Commands;

/// <summary><c>lifeboat volumes snapshot | schedule run | restore | list</c>: volume snapshots through the VolumeSnapshot API.</summary>
internal static class VolumeCommands
{
    public static Command Create(CliContext context)
    {
        var volumes = new Command("volumes", "Volume snapshots through the VolumeSnapshot API (snapshot.storage.k8s.io/v1, CSI drivers)");
        volumes.Subcommands.Add(Snapshot(context));
        var schedule = new Command("schedule", "Scheduled snapshots with retention (for a CronJob)");
        schedule.Subcommands.Add(ScheduleRun(context));
        volumes.Subcommands.Add(schedule);
        volumes.Subcommands.Add(Restore(context));
        volumes.Subcommands.Add(List(context));
        return volumes;
    }

    private static Command Snapshot(CliContext context)
    {
        var kube = new KubeOptions();
        var pvc = new Option<string>("--pvc") { Description = "The V1PersistentVolumeClaim to snapshot", Required = true };
        var className = new Option<string?>("--class") { Description = "VolumeSnapshotClass (default: the default class of the claim's CSI driver)" };
        var name = new Option<string?>("--name") { Description = "Snapshot name (default: <pvc>-manual-<UTC yyyyMMddHHmmss>)" };
        var wait = new Option<bool>("--wait") { Description = "Wait until the snapshot is cut and ready to use" };
        var waits = new WaitOptions();
        var output = OutputFormats.Option();
        var command = new Command("snapshot", "Take a VolumeSnapshot of a PVC now");
        kube.AddTo(command);
        foreach (var o in new Option[] { pvc, className, name, wait, output })
        {
            command.Options.Add(o);
        }

        waits.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = kube.Connect(parse);
            var ns = kube.Namespace(parse, client);
            var log = new StepLog(context, parse.GetValue(output));
            var snapshotter = new VolumeSnapshotter(client, log, context.Time) { PollInterval = kube.PollInterval(parse) };
            var claim = parse.GetValue(pvc)!;
            var source = await snapshotter.CheckSourceAsync(ns, claim, parse.GetValue(className), cancellationToken);
            var snapshotName = parse.GetValue(name) ?? SnapshotNames.ForOnDemand(claim, context.Time.GetUtcNow());
            var (snapshot, created) = await snapshotter.CreateAsync(source, snapshotName, SnapshotNames.Labels(claim, SnapshotNames.OnDemand, null), cancellationToken);
            if (created)
            {
                log.Info($"created VolumeSnapshot {ns}/{snapshotName} of PVC {claim} (class {source.ClassName ?? "the driver's default"})");
            }

            var outcome = "created";
            if (parse.GetValue(wait))
            {
                var result = await snapshotter.WaitAsync(snapshot, waits.Get(parse), cancellationToken);
                snapshot = result.Snapshot ?? snapshot;
                outcome = result.Outcome.ToString();
                var error = result.LastError is null ? "" : $"; the controller reports: {result.LastError}";
                switch (result.Outcome)
                {
                    case SnapshotOutcome.NotCut:
                        throw new VolumeOperationFailedException($"VolumeSnapshot {ns}/{snapshotName} was not cut within {waits.Get(parse).CutTimeout}{error}; it is left in place",
                            $"see kubectl describe volumesnapshot -n {ns} {snapshotName}; delete it if it is not wanted");
                    case SnapshotOutcome.CutNotReady:
                        throw new VolumeOperationFailedException($"VolumeSnapshot {ns}/{snapshotName} is cut but not ready after {waits.Get(parse).ReadyTimeout}{error}",
                            "it may still become ready: check with lifeboat volumes list; raise --ready-timeout for large volumes");
                    case SnapshotOutcome.Deleted:
                        throw new VolumeOperationFailedException($"VolumeSnapshot {ns}/{snapshotName} was deleted while waiting for it", null);
                }
            }

            if (parse.GetValue(output).IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, parse.GetValue(output), Row(snapshot, context.Time.GetUtcNow()) with { Outcome = outcome });
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command ScheduleRun(CliContext context)
    {
        var kube = new KubeOptions(multipleNamespaces: true);
        var scheduleName = new Option<string>("--schedule-name") { Description = "The schedule's name: in every snapshot's name and label", DefaultValueFactory = _ => "hourly" };
        var cron = new Option<string>("--cron") { Description = "The CronJob's schedule (5 cron fields or @hourly/@daily/...), to name the slot", DefaultValueFactory = _ => "@hourly" };
        var pvcs = new Option<string[]>("--pvc") { Description = "PVCs by name (repeat or comma-separate); with no --pvc and no -l, every PVC", AllowMultipleArgumentsPerToken = true };
        var selector = new Option<string?>("--selector", "-l") { Description = "PVCs by label selector" };
        var className = new Option<string?>("--class") { Description = "VolumeSnapshotClass (default: the default class of each claim's CSI driver)" };
        var retentionOptions = new RetentionOptions("ready snapshots per PVC");
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would be created and deleted; change nothing" };
        var waits = new WaitOptions();
        var output = OutputFormats.Option();
        var command = new Command("run",
            "Take this slot's snapshot of each selected PVC (named <pvc>-<schedule>-<UTC slot>, so a retry never duplicates), wait until cut and ready, " +
            "then apply retention per PVC counting only ready snapshots. Never deletes the newest ready snapshot, one labelled lifeboat.io/keep=true, " +
            "or one a PVC is being restored from. Exits 9 only when a snapshot really failed.");
        kube.AddTo(command);
        foreach (var o in new Option[] { scheduleName, cron, pvcs, selector, className, dryRun, output })
        {
            command.Options.Add(o);
        }

        waits.AddTo(command);
        retentionOptions.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var retention = retentionOptions.Read(parse);
            var options = new SnapshotScheduleOptions
            {
                Name = parse.GetValue(scheduleName)!,
                Cron = FullSnapshotSchedule.Parse(parse.GetValue(cron)!),
                Namespaces = [],
                Claims = Split(parse.GetValue(pvcs)),
                Selector = parse.GetValue(selector),
                ClassName = parse.GetValue(className),
                Retention = retention,
                Wait = waits.Get(parse),
                DryRun = parse.GetValue(dryRun),
            };
            SnapshotNames.ValidateSchedule(options.Name);
            using var client = kube.Connect(parse);
            options = options with { Namespaces = kube.Namespaces(parse, client) };
            var format = parse.GetValue(output);
            var log = new StepLog(context, format);
            var runner = new SnapshotScheduleRunner(client, log, context.Time) { PollInterval = kube.PollInterval(parse) };
            var result = await runner.RunAsync(options, cancellationToken);
            if (format.IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, format, new
                {
                    slot = result.Slot,
                    dryRun = options.DryRun,
                    claims = result.Claims.Select(c => new { @namespace = c.Namespace, pvc = c.Claim, snapshot = c.Snapshot, outcome = c.Outcome, failed = c.Failed }),
                    deleted = result.Deleted.Select(d => new { @namespace = d.Snapshot.Metadata.NamespaceProperty, name = d.Snapshot.Metadata.Name, reason = d.Reason }),
                    failures = result.Failures,
                });
            }
            else
            {
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{(options.DryRun ? "[dry run] " : "")}{result.Claims.Count(c => !c.Failed && c.Snapshot is not null)} snapshot(s) ok, {result.Failures} failed, {result.Deleted.Count} {(options.DryRun ? "to delete" : "deleted")}"));
            }

            if (result.Failures > 0)
            {
                await context.Error.WriteLineAsync($"error: {result.Failures} snapshot(s) failed: {string.Join("; ", result.Claims.Where(c => c.Failed).Select(c => $"{c.Namespace}/{c.Claim}: {c.Outcome}"))} — fix: see the messages above");
                return ExitCodes.VolumeFailed;
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Restore(CliContext context)
    {
        var kube = new KubeOptions();
        var snapshot = new Option<string>("--snapshot") { Description = "The VolumeSnapshot to restore from (in the namespace)", Required = true };
        var toPvc = new Option<string?>("--to-pvc") { Description = "Create this new PVC from the snapshot" };
        var inPlace = new Option<bool>("--in-place") { Description = "Restore over an existing PVC (--pvc): scale its workloads to zero, take a safety snapshot, recreate it from the snapshot, scale back" };
        var pvc = new Option<string?>("--pvc") { Description = "With --in-place: the PVC to restore" };
        var storageClass = new Option<string?>("--storage-class") { Description = "Storage class of the new PVC (default: the source PVC's); must be served by the snapshot's CSI driver" };
        var size = new Option<string?>("--size") { Description = "Size of the new PVC, e.g. 20Gi (default: the larger of the source PVC's request and the snapshot's restoreSize)" };
        var force = new Option<bool>("--force") { Description = "In place: go on although pods no Deployment/StatefulSet owns mount the PVC" };
        var bindTimeout = new Option<TimeSpan>("--bind-timeout") { Description = "How long to wait for the PVC to be Bound", DefaultValueFactory = _ => TimeSpan.FromMinutes(15) }.Duration(TimeSpan.FromSeconds(1));
        var stopTimeout = new Option<TimeSpan>("--stop-timeout") { Description = "In place: how long to wait for pods to stop and the old PVC to go", DefaultValueFactory = _ => TimeSpan.FromMinutes(5) }.Duration(TimeSpan.FromSeconds(1));
        var waits = new WaitOptions();
        var command = new Command("restore", "Restore a volume from a VolumeSnapshot into a new PVC (--to-pvc) or over an existing one (--in-place --pvc)");
        kube.AddTo(command);
        foreach (var o in new Option[] { snapshot, toPvc, inPlace, pvc, storageClass, size, force, bindTimeout, stopTimeout })
        {
            command.Options.Add(o);
        }

        waits.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var target = parse.GetValue(toPvc);
            var existing = parse.GetValue(pvc);
            var inPlaceAsked = parse.GetValue(inPlace);
            if (inPlaceAsked == (target is not null) || (inPlaceAsked && existing is null) || (!inPlaceAsked && existing is not null))
            {
                throw new ArgumentException("give either --to-pvc NEW, or --in-place --pvc EXISTING");
            }

            var sizeValue = parse.GetValue(size) is { } text
                ? (StorageSize.TryParse(text, out var q) && q.ToDecimal() > 0 ? q : throw new ArgumentException($"--size '{text}' is not a size: write it like 20Gi or 500M"))
                : null;
            using var client = kube.Connect(parse);
            var log = new StepLog(context, OutputFormat.Text);
            var restorer = new VolumeRestorer(client, log, context.Time) { PollInterval = kube.PollInterval(parse) };
            var options = new RestoreOptions
            {
                Namespace = kube.Namespace(parse, client),
                Snapshot = parse.GetValue(snapshot)!,
                StorageClass = parse.GetValue(storageClass),
                Size = sizeValue,
                BindTimeout = parse.GetValue(bindTimeout),
                StopTimeout = parse.GetValue(stopTimeout),
                SafetySnapshot = waits.Get(parse),
                Force = parse.GetValue(force),
            };
            if (inPlaceAsked)
            {
                await restorer.RestoreInPlaceAsync(options, existing!, cancellationToken);
            }
            else
            {
                await restorer.RestoreToNewAsync(options, target!, cancellationToken);
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command List(CliContext context)
    {
        var kube = new KubeOptions();
        var all = new Option<bool>("--all-namespaces", "-A") { Description = "List in every namespace" };
        var selector = new Option<string?>("--selector", "-l") { Description = "Only snapshots with these labels" };
        var pvc = new Option<string?>("--pvc") { Description = "Only snapshots of this PVC" };
        var output = OutputFormats.Option();
        var command = new Command("list", "List VolumeSnapshots with readiness, size, age and source, newest first");
        kube.AddTo(command);
        foreach (var o in new Option[] { all, selector, pvc, output })
        {
            command.Options.Add(o);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = kube.Connect(parse);
            var ns = parse.GetValue(all) ? null : kube.Namespace(parse, client);
            var now = context.Time.GetUtcNow();
            var rows = (await client.ListAllAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, ns, new ListOptions { LabelSelector = parse.GetValue(selector) }, cancellationToken)
                    .ToListAsync(cancellationToken))
                .Where(s => parse.GetValue(pvc) is not { } only || s.Spec.Source.PersistentVolumeClaimName == only)
                .OrderByDescending(SnapshotRetention.Time)
                .Select(s => Row(s, now))
                .ToList();
            if (parse.GetValue(output).IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, parse.GetValue(output), rows);
                return ExitCodes.Success;
            }

            if (rows.Count == 0)
            {
                await context.Error.WriteLineAsync($"no VolumeSnapshots {(ns is null ? "in any namespace" : $"in namespace {ns}")}");
                return ExitCodes.Success;
            }

            var table = new List<string[]> { ListHeader };
            table.AddRange(rows.Select(r => new[]
            {
                r.Namespace, r.Name, r.Ready ? "true" : "false", r.RestoreSize ?? "-", Age(r.AgeSeconds), r.SourcePvc ?? r.SourceContent ?? "-",
                r.Class ?? "-", r.CutAt?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-", r.Error ?? "",
            }));
            var widths = Enumerable.Range(0, table[0].Length).Select(i => table.Max(row => row[i].Length)).ToArray();
            foreach (var row in table)
            {
                await context.Output.WriteLineAsync(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static readonly string[] ListHeader = ["NAMESPACE", "NAME", "READY", "SIZE", "AGE", "SOURCE PVC", "CLASS", "CUT (UTC)", "ERROR"];

    internal sealed record SnapshotRow(string Namespace, string Name, bool Ready, string? RestoreSize, long AgeSeconds, string? SourcePvc, string? SourceContent,
        string? Class, DateTimeOffset? CutAt, string? Error, IDictionary<string, string>? Labels)
    {
        public string? Outcome { get; init; }
    }

    private static SnapshotRow Row(VolumeSnapshot s, DateTimeOffset now) => new(
        s.Metadata.NamespaceProperty ?? "", s.Metadata.Name ?? "", s.Status?.ReadyToUse == true, s.Status?.RestoreSize,
        (long)Math.Max(0, (now - (s.Metadata.CreationTimestamp.Instant() ?? now)).TotalSeconds), s.Spec.Source.PersistentVolumeClaimName, s.Spec.Source.VolumeSnapshotContentName,
        s.Spec.VolumeSnapshotClassName, s.Status?.CreationTime, s.Status?.Error?.Message, s.Metadata.Labels);

    /// <summary>An age as kubectl prints it.</summary>
    public static string Age(TimeSpan age) => Age((long)Math.Max(0, age.TotalSeconds));

    private static string Age(long seconds) => seconds switch
    {
        < 120 => $"{seconds}s",
        < 7200 => $"{seconds / 60}m",
        < 172800 => $"{seconds / 3600}h",
        _ => $"{seconds / 86400}d",
    };

    private static List<string> Split(string[]? values) => KubeOptions.Split(values);

    /// <summary>--cut-timeout and --ready-timeout (alias --timeout).</summary>
    private sealed class WaitOptions
    {
        private readonly Option<TimeSpan> _cut = new Option<TimeSpan>("--cut-timeout")
        {
            Description = "How long the storage system may take to cut the snapshot (status.creationTime)",
            DefaultValueFactory = _ => TimeSpan.FromMinutes(10),
        }.Duration(TimeSpan.FromSeconds(1));

        private readonly Option<TimeSpan> _ready = new Option<TimeSpan>("--ready-timeout", "--timeout")
        {
            Description = "How long it may then take to be ready to use (uploads of large volumes take hours on some clouds)",
            DefaultValueFactory = _ => TimeSpan.FromHours(2),
        }.Duration(TimeSpan.FromSeconds(1));

        public void AddTo(Command command)
        {
            command.Options.Add(_cut);
            command.Options.Add(_ready);
        }

        public SnapshotWaitOptions Get(ParseResult parse) => new() { CutTimeout = parse.GetValue(_cut), ReadyTimeout = parse.GetValue(_ready) };
    }
}
