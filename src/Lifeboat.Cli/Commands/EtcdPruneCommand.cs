using System.CommandLine;
using Lifeboat.Cli.Output;
using Lifeboat.Core.Retention;
using Lifeboat.Core.Snapshots;

namespace Lifeboat.Cli.Commands;

/// <summary><c>lifeboat etcd snapshots prune</c>: apply a retention policy to the store.</summary>
internal static class EtcdPruneCommand
{
    public static Command Create(CliContext context)
    {
        var store = new StoreOptions();
        var policy = new Option<string>("--policy") { Description = "Retention policy", HelpName = "limit|exponential", DefaultValueFactory = _ => "limit" };
        policy.AcceptOnlyFromAmong("limit", "exponential");
        var keep = new Option<int>("--keep") { Description = "limit: how many full snapshots (with their deltas) to keep", DefaultValueFactory = _ => 7 }.Integer(min: 1); // retention always keeps a full snapshot
        var hours = new Option<int>("--hourly") { Description = "exponential: hours with one full snapshot each", DefaultValueFactory = _ => 24 }.Integer(min: 1);
        var days = new Option<int>("--daily") { Description = "exponential: days with one full snapshot each", DefaultValueFactory = _ => 7 }.Integer(min: 1);
        var weeks = new Option<int>("--weekly") { Description = "exponential: weeks with one full snapshot each", DefaultValueFactory = _ => 4 }.Integer(min: 1);
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would be deleted and delete nothing" };
        var output = OutputFormats.Option();
        var command = new Command("prune",
            "Delete snapshots a retention policy does not keep. Never deletes the only full snapshot, the newest restorable point, " +
            "or deltas newer than the newest full snapshot.");
        store.AddTo(command);
        foreach (var o in new Option[] { policy, keep, hours, days, weeks, dryRun, output })
        {
            command.Options.Add(o);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            RetentionPolicy chosen = parse.GetValue(policy) == "exponential"
                ? new RetentionPolicy.Exponential(parse.GetValue(hours), parse.GetValue(days), parse.GetValue(weeks))
                : new RetentionPolicy.Limit(parse.GetValue(keep));
            var source = store.Open(parse, context.Time, create: false);
            var plan = RetentionPlanner.Plan(await SnapshotCatalog.ListAsync(source, cancellationToken), chosen, context.Time.GetUtcNow());
            var dry = parse.GetValue(dryRun);
            var deleted = dry ? 0 : await RetentionExecutor.ApplyAsync(source, plan, cancellationToken);
            if (parse.GetValue(output).IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, parse.GetValue(output), new
                {
                    dryRun = dry,
                    deleted = plan.Delete.Select(d => new { key = d.Snapshot.Key, reason = d.Reason }),
                    kept = plan.Keep.Select(k => k.Key),
                });
                return ExitCodes.Success;
            }

            foreach (var d in plan.Delete)
            {
                await context.Output.WriteLineAsync($"{(dry ? "would delete" : "deleted")} {d.Snapshot.Key}: {d.Reason}");
            }

            await context.Output.WriteLineAsync($"{(dry ? "would delete" : "deleted")} {(dry ? plan.Delete.Count : deleted)}, kept {plan.Keep.Count}");
            return ExitCodes.Success;
        });
        return command;
    }
}
