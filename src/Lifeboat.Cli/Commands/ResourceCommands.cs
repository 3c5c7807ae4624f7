using System.CommandLine;
using System.Globalization;
using Lifeboat.Cli.Output;
using Lifeboat.Core.Scheduling;
using Lifeboat.Core.Storage;
using Lifeboat.Kubernetes.Resources;

namespace Lifeboat.Cli.Commands;

/// <summary><c>lifeboat resources backup | restore | list | describe | delete | schedule run</c>: Velero-style backups of Kubernetes objects.</summary>
internal static class ResourceCommands
{
    private static readonly string Version = InfoCommands.InformationalVersion;

    public static Command Create(CliContext context)
    {
        var resources = new Command("resources", "Back up and restore Kubernetes objects (Velero-style): selected namespaces and resources into one archive in the store");
        resources.Subcommands.Add(Backup(context));
        resources.Subcommands.Add(Restore(context));
        resources.Subcommands.Add(List(context));
        resources.Subcommands.Add(Describe(context));
        resources.Subcommands.Add(Delete(context));
        resources.Subcommands.Add(CopyCommands.Resources(context));
        var schedule = new Command("schedule", "Scheduled resource backups with retention (for a CronJob)");
        schedule.Subcommands.Add(ScheduleRun(context));
        resources.Subcommands.Add(schedule);
        return resources;
    }

    private static Command Backup(CliContext context)
    {
        var name = new Argument<string>("NAME") { Description = "The backup's name (lower-case letters, digits, '-', '.')" };
        var filters = new BackupFilterOptions();
        var kube = new KubeOptions();
        var store = new StoreOptions();
        var output = OutputFormats.Option();
        var command = new Command("backup",
            "Back up the selected objects: discovers what the cluster serves, lists page by page, strips server-managed fields and writes one tar.gz " +
            "(resources/<resource>.<group>/namespaces/<ns>/<name>.json) to the store, listed only once complete. Exits 10 when something selected could not be read " +
            "(the backup is kept, marked PartiallyFailed, and says what is missing).");
        command.Arguments.Add(name);
        filters.AddTo(command);
        kube.AddTo(command, withNamespace: false);
        store.AddTo(command);
        command.Options.Add(output);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var backupName = parse.GetValue(name)!;
            ResourceBackupCatalog.ValidateName(backupName);
            var request = filters.Read(parse) with { Name = backupName, LifeboatVersion = Version };
            var format = parse.GetValue(output);
            using var client = kube.Connect(parse);
            var target = store.Open(parse, context.Time);
            var manifest = await new ResourceBackupper(client, new StepLog(context, format), context.Time).BackupAsync(target, request, cancellationToken);
            return await ReportBackupAsync(context, manifest, target, format);
        });
        return command;
    }

    private static async Task<int> ReportBackupAsync(CliContext context, BackupManifest manifest, ISnapshotStore target, OutputFormat format)
    {
        if (format.IsStructured())
        {
            await OutputFormats.WriteAsync(context.Output, format, manifest);
        }
        else
        {
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"backup {manifest.Name} {manifest.Phase}: {manifest.TotalItems} objects of {manifest.Resources.Count} resources in {manifest.Namespaces.Count} namespaces, " +
                $"{Bytes.Format(manifest.ArchiveSize)}, stored as {manifest.ArchiveKey} in {target.Location}"));
        }

        foreach (var warning in manifest.Warnings)
        {
            await context.Error.WriteLineAsync($"warning: {warning}");
        }

        if (manifest.ArchiveKey is { } key && StoreKey.WithoutEncryption(key) == key && manifest.Resources.FirstOrDefault(r => r.Resource == "secrets") is { Count: > 0 } secrets)
        {
            await context.Error.WriteLineAsync($"warning: the backup holds {secrets.Count} Secret(s) unencrypted: pass --encryption-key-file to encrypt backups");
        }

        if (manifest.Partial)
        {
            foreach (var error in manifest.Errors)
            {
                await context.Error.WriteLineAsync($"error: {error}");
            }

            await context.Error.WriteLineAsync($"error: backup {manifest.Name} is PartiallyFailed: {manifest.Errors.Count} scope(s) could not be read and are missing from it — fix: grant the identity get and list on them (see deploy/resource-backup/rbac.yaml), then back up again");
            return ExitCodes.PartiallyFailed;
        }

        return ExitCodes.Success;
    }

    private static Command Restore(CliContext context)
    {
        var name = new Argument<string>("NAME") { Description = "The backup to restore from" };
        var includeNamespaces = new Option<string[]>("--include-namespaces") { Description = "Restore only these namespaces (globs; comma-separate or repeat)", AllowMultipleArgumentsPerToken = true };
        var excludeNamespaces = new Option<string[]>("--exclude-namespaces") { Description = "Leave these namespaces out (globs)", AllowMultipleArgumentsPerToken = true };
        var includeResources = new Option<string[]>("--include-resources") { Description = "Restore only these resources (e.g. deployments.apps,configmaps)", AllowMultipleArgumentsPerToken = true };
        var excludeResources = new Option<string[]>("--exclude-resources") { Description = "Leave these resources out", AllowMultipleArgumentsPerToken = true };
        var names = new Option<string[]>("--name") { Description = "Restore only these objects, as KIND/NAME (e.g. deployment/web); repeat for several", AllowMultipleArgumentsPerToken = true };
        var selector = new Option<string?>("--selector", "-l") { Description = "Restore only objects with these labels" };
        var mapping = new Option<string[]>("--namespace-mapping", "--namespace-mappings") { Description = "Restore into other namespaces: old:new, comma-separated (--namespace-mappings is Velero's spelling)", AllowMultipleArgumentsPerToken = true };
        var existing = new Option<ExistingPolicy>("--existing", "--existing-resource-policy") { Description = "What to do with objects that exist: skip (leave them) or update (merge the backup in); --existing-resource-policy is Velero's spelling", DefaultValueFactory = _ => ExistingPolicy.Skip }.OneOf(ExistingPolicy.Skip, ExistingPolicy.Update);
        var dryRun = new Option<bool>("--dry-run") { Description = "Report what would be created, skipped and updated, validated by the API server's dry run; change nothing" };
        var crdTimeout = new Option<TimeSpan>("--crd-timeout") { Description = "How long a restored CRD may take to become Established", DefaultValueFactory = _ => TimeSpan.FromMinutes(1) }.Duration(TimeSpan.FromSeconds(1));
        var kube = new KubeOptions();
        var store = new StoreOptions();
        var output = OutputFormats.Option();
        var command = new Command("restore",
            "Restore objects from a backup in dependency order (CRDs first, Established; namespaces, storage classes, service accounts, config maps, secrets, claims, " +
            "RBAC, services, workloads, the rest). Existing objects are skipped unless --existing update. Prints one line per object; exits 10 when any failed.");
        command.Arguments.Add(name);
        foreach (var o in new Option[] { includeNamespaces, excludeNamespaces, includeResources, excludeResources, names, selector, mapping, existing, dryRun, crdTimeout })
        {
            command.Options.Add(o);
        }

        kube.AddTo(command, withNamespace: false);
        store.AddTo(command);
        command.Options.Add(output);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var backupName = parse.GetValue(name)!;
            ResourceBackupCatalog.ValidateName(backupName);
            var request = new ResourceRestoreRequest
            {
                Namespaces = Lists(parse, includeNamespaces, excludeNamespaces),
                Resources = Lists(parse, includeResources, excludeResources),
                Names = KubeOptions.Split(parse.GetValue(names)),
                LabelSelector = parse.GetValue(selector),
                NamespaceMapping = ParseMapping(KubeOptions.Split(parse.GetValue(mapping))),
                Existing = parse.GetValue(existing),
                DryRun = parse.GetValue(dryRun),
                CrdTimeout = parse.GetValue(crdTimeout),
                PollInterval = kube.PollInterval(parse),
            };
            _ = Lifeboat.Kubernetes.Client.LabelSelectorExpression.Parse(request.LabelSelector);
            var format = parse.GetValue(output);
            var log = new StepLog(context, format);
            var (manifest, objects) = await new ResourceBackupCatalog(store.Open(parse, context.Time, create: false)).ReadAsync(backupName, cancellationToken);
            if (manifest.Partial)
            {
                log.Warn($"backup {backupName} is PartiallyFailed: it lacks {string.Join("; ", manifest.Errors)}");
            }

            using var client = kube.Connect(parse);
            var report = await new ResourceRestorer(client, log, context.Time).RestoreAsync(backupName, objects, request, cancellationToken);
            if (format.IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, format, new
                {
                    backup = report.Backup,
                    dryRun = report.DryRun,
                    items = report.Items.Select(i => new { resource = i.Resource, @namespace = i.Namespace, name = i.Name, outcome = i.Outcome.ToString(), message = i.Message }),
                });
            }
            else
            {
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{(report.DryRun ? "[dry run] would restore" : "restored")} from {backupName}: {report.Count(RestoreOutcome.Created)} created, {report.Count(RestoreOutcome.Updated)} updated, " +
                    $"{report.Count(RestoreOutcome.Unchanged)} unchanged, {report.Count(RestoreOutcome.Skipped)} skipped, {report.Count(RestoreOutcome.Failed)} failed"));
            }

            if (report.HasFailures)
            {
                await context.Error.WriteLineAsync($"error: {report.Count(RestoreOutcome.Failed)} object(s) could not be restored: {string.Join("; ", report.Items.Where(i => i.Outcome == RestoreOutcome.Failed).Take(5).Select(i => $"{i.Display}: {i.Message}"))} — fix: see each object's line above, then restore again (what exists is skipped)");
                return ExitCodes.PartiallyFailed;
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command List(CliContext context)
    {
        var store = new StoreOptions();
        var output = OutputFormats.Option();
        var command = new Command("list", "List the resource backups in the store, newest first");
        store.AddTo(command);
        command.Options.Add(output);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var entries = await new ResourceBackupCatalog(store.Open(parse, context.Time, create: false)).ListEntriesAsync(cancellationToken);
            var locked = entries.Where(e => e.Manifest is null).ToList();
            if (locked.Count > 0)
            {
                await context.Error.WriteLineAsync($"warning: {locked.Count} backup(s) are encrypted with a key that was not given ({string.Join(", ", locked.Select(e => e.LockedWithKey).Distinct())}): " +
                    "they are listed by name only; pass that key with --decryption-key-file to see them");
            }

            if (parse.GetValue(output).IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, parse.GetValue(output),
                    entries.Select(e => (object?)e.Manifest ?? new { name = e.Name, encryptedWithKey = e.LockedWithKey }));
                return ExitCodes.Success;
            }

            var now = context.Time.GetUtcNow();
            var table = new TextTable("NAME", "PHASE", "ITEMS", "NAMESPACES", "SIZE", "AGE", "SCHEDULE", "ERRORS", "WARNINGS");
            foreach (var e in entries)
            {
                if (e.Manifest is not { } m)
                {
                    table.Add(e.Name, $"encrypted (key {e.LockedWithKey})", "-", "-", "-", "-", "-", "-", "-");
                    continue;
                }

                table.Add(m.Name, m.Phase, m.TotalItems.ToString(CultureInfo.InvariantCulture), m.Namespaces.Count.ToString(CultureInfo.InvariantCulture),
                    Bytes.Format(m.ArchiveSize), VolumeCommands.Age(now - m.StartedAt), m.Schedule ?? "-",
                    m.Errors.Count.ToString(CultureInfo.InvariantCulture), m.Warnings.Count.ToString(CultureInfo.InvariantCulture));
            }

            await table.WriteToAsync(context.Output);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Describe(CliContext context)
    {
        var name = new Argument<string>("NAME") { Description = "The backup" };
        var details = new Option<bool>("--details") { Description = "Also list the counts per namespace of every resource" };
        var store = new StoreOptions();
        var output = OutputFormats.Option();
        var command = new Command("describe", "Show a backup: phase, times, filters, counts per resource and namespace, warnings and errors");
        command.Arguments.Add(name);
        command.Options.Add(details);
        store.AddTo(command);
        command.Options.Add(output);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var backupName = parse.GetValue(name)!;
            var manifest = await new ResourceBackupCatalog(store.Open(parse, context.Time, create: false)).FindAsync(backupName, cancellationToken)
                ?? throw new ResourceRefusedException($"there is no resource backup '{backupName}' in the store", "list them with lifeboat resources list");
            if (parse.GetValue(output).IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, parse.GetValue(output), manifest);
                return ExitCodes.Success;
            }

            var o = context.Output;
            var f = manifest.Filters;
            await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"""
                Name:        {manifest.Name}
                Phase:       {manifest.Phase}
                Schedule:    {manifest.Schedule ?? "-"}
                Started:     {manifest.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC ({VolumeCommands.Age(context.Time.GetUtcNow() - manifest.StartedAt)} ago)
                Completed:   {manifest.CompletedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC
                Cluster:     {manifest.Server} ({manifest.ServerVersion ?? "version unknown"})
                Archive:     {manifest.ArchiveKey} ({Bytes.Format(manifest.ArchiveSize)})
                Namespaces:  include {string.Join(",", f.IncludeNamespaces)}; exclude {(f.ExcludeNamespaces.Count == 0 ? "-" : string.Join(",", f.ExcludeNamespaces))}
                Resources:   include {string.Join(",", f.IncludeResources)}; exclude {(f.ExcludeResources.Count == 0 ? "-" : string.Join(",", f.ExcludeResources))}
                Labels:      {f.LabelSelector ?? "-"}
                Cluster-scoped: {f.IncludeClusterResources}
                Items:       {manifest.TotalItems} ({manifest.ExcludedByLabel} left out by the {ResourceBackupper.ExcludeLabel} label)
                Backed-up namespaces: {(manifest.Namespaces.Count == 0 ? "-" : string.Join(", ", manifest.Namespaces))}
                """));
            var table = new TextTable("RESOURCE", "API VERSION", "COUNT", parse.GetValue(details) ? "PER NAMESPACE" : "NAMESPACES");
            foreach (var r in manifest.Resources)
            {
                table.Add(r.Resource, r.ApiVersion, r.Count.ToString(CultureInfo.InvariantCulture), parse.GetValue(details)
                    ? (r.Namespaced ? string.Join(" ", r.PerNamespace.Select(kv => $"{kv.Key}={kv.Value}")) : "(cluster)")
                    : (r.Namespaced ? r.PerNamespace.Count.ToString(CultureInfo.InvariantCulture) : "(cluster)"));
            }

            await o.WriteLineAsync();
            await table.WriteToAsync(o);
            foreach (var (label, problems) in new[] { ("Warnings", manifest.Warnings), ("Errors", manifest.Errors) })
            {
                await o.WriteLineAsync();
                await o.WriteLineAsync($"{label}: {(problems.Count == 0 ? "none" : "")}");
                foreach (var p in problems)
                {
                    await o.WriteLineAsync($"  {p}");
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Delete(CliContext context)
    {
        var name = new Argument<string>("NAME") { Description = "The backup to delete" };
        var store = new StoreOptions();
        var command = new Command("delete", "Delete a resource backup from the store (its manifest first, so it is never listed half-deleted)");
        command.Arguments.Add(name);
        store.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var backupName = parse.GetValue(name)!;
            if (!await new ResourceBackupCatalog(store.Open(parse, context.Time, create: false)).DeleteAsync(backupName, cancellationToken))
            {
                throw new ResourceRefusedException($"there is no resource backup '{backupName}' in the store", "list them with lifeboat resources list");
            }

            await context.Output.WriteLineAsync($"deleted resource backup {backupName}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command ScheduleRun(CliContext context)
    {
        var scheduleName = new Option<string>("--schedule-name") { Description = "The schedule's name: the prefix of its backups' names", DefaultValueFactory = _ => "daily" };
        var cron = new Option<string>("--cron") { Description = "The CronJob's schedule (5 cron fields or @hourly/@daily/...), to name the slot", DefaultValueFactory = _ => "@daily" };
        var retentionOptions = new RetentionOptions("completed backups of this schedule");
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would be taken and deleted; change nothing" };
        var filters = new BackupFilterOptions();
        var kube = new KubeOptions();
        var store = new StoreOptions();
        var output = OutputFormats.Option();
        var command = new Command("run",
            "Take this slot's backup (named <schedule>-<UTC slot yyyyMMddHHmmss>, so a retried job finds it instead of taking another), then apply retention to the " +
            "schedule's backups. Only completed backups count, the newest completed one is never deleted, a partially failed one goes once a newer one completed.");
        foreach (var o in new Option[] { scheduleName, cron, dryRun })
        {
            command.Options.Add(o);
        }

        retentionOptions.AddTo(command);
        filters.AddTo(command);
        kube.AddTo(command, withNamespace: false);
        store.AddTo(command);
        command.Options.Add(output);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var retention = retentionOptions.Read(parse);
            var schedule = parse.GetValue(scheduleName)!;
            ResourceBackupCatalog.ValidateName(schedule);
            var slots = FullSnapshotSchedule.Parse(parse.GetValue(cron)!);
            var request = filters.Read(parse) with { Name = schedule, LifeboatVersion = Version };
            var format = parse.GetValue(output);
            using var client = kube.Connect(parse);
            var target = store.Open(parse, context.Time);
            var result = await new ResourceBackupSchedule(client, new StepLog(context, format), context.Time)
                .RunAsync(target, schedule, slots, request, retention, parse.GetValue(dryRun), cancellationToken);
            if (format.IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, format, new
                {
                    name = result.Name,
                    slot = result.Slot,
                    taken = result.Taken,
                    deleted = result.Deleted.Select(d => new { name = d.Backup.Name, reason = d.Reason }),
                });
            }
            else
            {
                await context.Output.WriteLineAsync($"{(result.Taken is null ? $"backup {result.Name} of this slot exists" : $"took backup {result.Name} ({result.Taken.Phase})")}; " +
                    $"{result.Deleted.Count} {(parse.GetValue(dryRun) ? "to delete" : "deleted")} by retention ({retention})");
            }

            return result.Taken is { Partial: true } ? await ReportBackupAsync(context, result.Taken, target, OutputFormat.Text) : ExitCodes.Success;
        });
        return command;
    }

    private static IncludeExclude Lists(ParseResult parse, Option<string[]> include, Option<string[]> exclude)
    {
        var inc = KubeOptions.Split(parse.GetValue(include));
        return new IncludeExclude(inc.Count == 0 ? ["*"] : inc, KubeOptions.Split(parse.GetValue(exclude)));
    }

    private static Dictionary<string, string> ParseMapping(List<string> pairs)
    {
        var mapping = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var parts = pair.Split(':');
            if (parts.Length != 2 || !IsLabel(parts[0]) || !IsLabel(parts[1]) || !mapping.TryAdd(parts[0], parts[1]))
            {
                throw new ArgumentException($"--namespace-mapping '{pair}' is not old:new with two namespace names (each source namespace once)");
            }
        }

        return mapping;

        static bool IsLabel(string s) => s.Length is > 0 and <= 63 && s.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') && s[0] != '-' && s[^1] != '-';
    }

    /// <summary>The filters of a backup (and of a schedule's backups).</summary>
    private sealed class BackupFilterOptions
    {
        private readonly Option<string[]> _includeNamespaces = new("--include-namespaces") { Description = "Namespaces to back up (globs such as team-*; default every namespace)", AllowMultipleArgumentsPerToken = true };
        private readonly Option<string[]> _excludeNamespaces = new("--exclude-namespaces") { Description = "Namespaces to leave out (globs)", AllowMultipleArgumentsPerToken = true };
        private readonly Option<string[]> _includeResources = new("--include-resources") { Description = "Resources to back up: plural, kind or short name, optionally .group (deployments.apps,configmaps); default all", AllowMultipleArgumentsPerToken = true };
        private readonly Option<string[]> _excludeResources = new("--exclude-resources") { Description = "Resources to leave out", AllowMultipleArgumentsPerToken = true };
        private readonly Option<string?> _selector = new("--selector", "-l") { Description = "Only objects with these labels (e.g. app=shop,tier!=cache)" };
        private readonly Option<ClusterResources> _cluster = new Option<ClusterResources>("--include-cluster-resources")
        {
            Description = "Cluster-scoped resources: auto (all when every namespace is backed up; else only those the objects need: their CRDs and PVs), true, false",
            DefaultValueFactory = _ => ClusterResources.Auto,
        }.OneOf();

        private readonly Option<int> _pageSize = new Option<int>("--page-size") { Description = "Objects per list request", DefaultValueFactory = _ => 500 }.Integer(min: 1, max: 10000);

        public void AddTo(Command command)
        {
            foreach (var o in new Option[] { _includeNamespaces, _excludeNamespaces, _includeResources, _excludeResources, _selector, _cluster, _pageSize })
            {
                command.Options.Add(o);
            }
        }

        public ResourceBackupRequest Read(ParseResult parse)
        {
            var pageSize = parse.GetValue(_pageSize);
            if (pageSize is < 1 or > 10000)
            {
                throw new ArgumentException("--page-size must be between 1 and 10000");
            }

            var request = new ResourceBackupRequest
            {
                Name = "-",
                Namespaces = Lists(parse, _includeNamespaces, _excludeNamespaces),
                Resources = Lists(parse, _includeResources, _excludeResources),
                LabelSelector = parse.GetValue(_selector),
                ClusterResources = parse.GetValue(_cluster),
                PageSize = pageSize,
            };
            _ = new NamespaceFilter(request.Namespaces); // a malformed glob is a usage error before anything is read
            return request;
        }
    }
}
