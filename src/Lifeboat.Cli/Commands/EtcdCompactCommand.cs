using System.CommandLine;
using System.Globalization;
using Lifeboat.Cli.Output;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Etcd.Restore;

namespace Lifeboat.Cli.Commands;

/// <summary><c>lifeboat etcd snapshot compact</c>: a new full snapshot at the end of the newest chain.</summary>
internal static class EtcdCompactCommand
{
    public static Command Create(CliContext context)
    {
        var store = new StoreOptions();
        var scratch = new Option<string?>("--scratch-dir") { Description = "Where to replay (default: /dev/shm when it has room, else the temp directory)" };
        var output = OutputFormats.Option();
        var command = new Command("compact",
            "Rebuild a full snapshot at the newest chain's last revision from its full snapshot and deltas (replayed in a scratch etcd), " +
            "so that restores replay few deltas. Deletes nothing.");
        store.AddTo(command, writes: true);
        command.Options.Add(scratch);
        command.Options.Add(output);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var source = store.Open(parse, context.Time, create: false);
            var plan = RestorePlanner.Plan(await SnapshotCatalog.ListAsync(source, cancellationToken), RestoreTarget.Latest);
            var result = await CountProgress.RunAsync(context, "compact",
                progress => new EtcdRestorer(source, context.Time).CompactAsync(plan, store.CompressionFor(parse), parse.GetValue(scratch), progress, cancellationToken));
            if (parse.GetValue(output).IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, parse.GetValue(output), new { compacted = result is not null, full = result });
            }
            else if (result is null)
            {
                await context.Output.WriteLineAsync($"nothing to compact: {plan.Full.Key} is already at the chain's end (revision {plan.FullRevision})");
            }
            else
            {
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"stored {result.Key}: revision {result.Name.LastRevision} ({plan.Deltas.Count} deltas folded into {plan.Full.Key}), {Bytes.Format(result.StoredBytes)}"));
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
