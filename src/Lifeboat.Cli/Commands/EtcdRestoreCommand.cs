using System.CommandLine;
using System.Globalization;
using Lifeboat.Cli.Output;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Etcd.Restore;

namespace Lifeboat.Cli.Commands;

/// <summary><c>lifeboat etcd restore</c>: a data directory from a full snapshot and its deltas.</summary>
internal static class EtcdRestoreCommand
{
    public static Command Create(CliContext context)
    {
        var store = new StoreOptions();
        var dataDir = new Option<string>("--data-dir") { Description = "Data directory to create (must be missing or empty, unless --force)", Required = true };
        var toRevision = new Option<long?>("--to-revision") { Description = "Restore exactly this etcd revision (default: the latest point)" }.Integer(min: 1);
        var toTime = new Option<DateTimeOffset?>("--to-time")
        {
            Description = "Restore the last revision observed at or before this time, e.g. 2026-11-21T09:30:00Z",
        }.Instant();
        var member = new MemberOptions();
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the plan (which full snapshot, which deltas, bytes to read, target revision) and change nothing" };
        var force = new Option<bool>("--force") { Description = "Replace a non-empty data directory (its contents are moved to DIR.replaced-<time>, not deleted)" };
        var scratch = new Option<string?>("--scratch-dir") { Description = "Where the full snapshot is extracted to be read while the database is written (default: /dev/shm when it has room, else beside the data directory)" };
        var output = OutputFormats.Option();
        var command = new Command("restore",
            "Restore an etcd data directory from the store: the newest full snapshot at or before the target, then its deltas' revisions " +
            "written into its database as etcd stores them, so that revisions equal the source's (no etcd runs). Everything is verified before the data directory is touched.");
        store.AddTo(command);
        command.Options.Add(dataDir);
        command.Options.Add(toRevision);
        command.Options.Add(toTime);
        member.AddTo(command);
        foreach (var o in new Option[] { dryRun, force, scratch, output })
        {
            command.Options.Add(o);
        }

        command.Validators.Add(r =>
        {
            // Given or not, never the values: GetValue on a value that failed to parse throws.
            if (r.GetResult(toRevision) is { Implicit: false } && r.GetResult(toTime) is { Implicit: false })
            {
                r.AddError("--to-revision and --to-time exclude each other: pick one");
            }
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            var source = store.Open(parse, context.Time, create: false);
            var target = parse.GetValue(toRevision) is { } rev ? RestoreTarget.AtRevision(rev)
                : parse.GetValue(toTime) is { } time ? RestoreTarget.AtTime(time)
                : RestoreTarget.Latest;
            var plan = RestorePlanner.Plan(await SnapshotCatalog.ListAsync(source, cancellationToken), target);
            if (parse.GetValue(dryRun))
            {
                return await PrintPlanAsync(context, plan, parse.GetValue(dataDir)!, parse.GetValue(force), parse.GetValue(output));
            }

            var options = new RestoreOptions
            {
                DataDir = parse.GetValue(dataDir)!,
                Force = parse.GetValue(force),
                ScratchDir = parse.GetValue(scratch),
                Member = member.Read(parse),
            };
            var result = await CountProgress.RunAsync(context, "restore",
                progress => new EtcdRestorer(source, context.Time).RestoreAsync(plan, options, progress, cancellationToken));
            foreach (var warning in result.Warnings)
            {
                await context.Error.WriteLineAsync("warning: " + warning);
            }

            if (parse.GetValue(output).IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, parse.GetValue(output), result);
            }
            else
            {
                var rate = result.ChangesReplayed / Math.Max(result.ReplayDuration.TotalSeconds, 0.001);
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"restored {result.DataDir} at revision {result.Revision}: {result.FullSnapshot} + {result.RevisionsReplayed} revisions " +
                    $"({result.ChangesReplayed} changes) from {result.DeltasReplayed} deltas, replayed in {result.ReplayDuration.TotalSeconds:0.00} s " +
                    $"({rate:0} events/s), {result.Duration.TotalSeconds:0.00} s in all"));
                if (result.ReplacedDataDir is { } replaced)
                {
                    await context.Output.WriteLineAsync($"the previous contents of the data directory were moved to {replaced}");
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>
    /// --dry-run: what a restore would read and where it would write. Reads only the store's listing; a data directory
    /// the restore would refuse is refused here the same way (exit 7), after the plan is shown.
    /// </summary>
    private static async Task<int> PrintPlanAsync(CliContext context, RestorePlan plan, string dataDir, bool force, OutputFormat format)
    {
        var full = Path.GetFullPath(dataDir);
        var state = File.Exists(full) ? "a file"
            : !Directory.Exists(full) ? "missing"
            : Directory.EnumerateFileSystemEntries(full).Any() ? "not empty" : "empty";
        var refused = state == "a file" || (state == "not empty" && !force);
        var bytes = plan.Full.Stored.Size + plan.Deltas.Sum(d => d.Stored.Size);
        var replayed = plan.StopAtRevision - plan.FullRevision;
        if (format.IsStructured())
        {
            await OutputFormats.WriteAsync(context.Output, format, new
            {
                dryRun = true,
                targetRevision = plan.StopAtRevision,
                stopAtTime = plan.StopAtTime,
                full = plan.Full.Key,
                fullRevision = plan.FullRevision,
                deltas = plan.Deltas.Select(d => d.Key),
                revisionsToReplay = Math.Max(0, replayed),
                bytesToRead = bytes,
                dataDir = full,
                dataDirState = state,
                wouldBeRefused = refused,
            });
        }
        else
        {
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"plan: restore revision {plan.StopAtRevision}{(plan.StopAtTime is { } t ? $" (the last observed at or before {t:u})" : "")} into {full}"));
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  full snapshot: {plan.Full.Key} (revision {plan.FullRevision}, {Bytes.Format(plan.Full.Stored.Size)})"));
            await context.Output.WriteLineAsync(plan.Deltas.Count == 0
                ? "  deltas: none"
                : string.Create(CultureInfo.InvariantCulture,
                    $"  deltas: {plan.Deltas.Count} ({plan.Deltas[0].Key} .. {plan.Deltas[^1].Key}), {Math.Max(0, replayed)} revisions to replay"));
            await context.Output.WriteLineAsync($"  to read: {Bytes.Format(bytes)}");
            await context.Output.WriteLineAsync($"  data directory: {state}{(state == "not empty" ? force ? "; --force moves it aside first" : "; the restore would be refused without --force" : "")}");
            await context.Output.WriteLineAsync("nothing was changed (--dry-run)");
        }

        EtcdRestorer.CheckDataDir(full, force); // the restore's own refusal, reported as it would be
        return ExitCodes.Success;
    }
}
