using System.CommandLine;
using Lifeboat.Cli.Output;
using Lifeboat.Etcd.Init;

namespace Lifeboat.Cli.Commands;

/// <summary><c>lifeboat etcd init</c>: check the data directory before etcd starts, and restore it when it is missing, damaged or behind.</summary>
internal static class EtcdInitCommand
{
    public static Command Create(CliContext context)
    {
        var store = new StoreOptions();
        var member = new MemberOptions();
        var dataDir = new Option<string>("--data-dir") { Description = "etcd's data directory, as etcd will be started with", Required = true };
        var state = new Option<string>("--initial-cluster-state")
        {
            Description = "As for etcd: 'existing' for a member that joined a running cluster (its ids cannot be checked against the flags)",
            DefaultValueFactory = _ => "new",
        };
        state.AcceptOnlyFromAmong("new", "existing");
        var mode = new Option<InitMode>("--mode")
        {
            Description = "sanity: structure, membership, database pages and revision; full: also start etcd on a copy and check Status and HashKV",
            DefaultValueFactory = _ => InitMode.Sanity,
        }.OneOf();
        var discard = new Option<bool>("--discard-damaged") { Description = "Delete a damaged data directory after restoring, instead of keeping it as DIR.damaged-<time>" };
        var scratch = new Option<string?>("--scratch-dir") { Description = "Where a restore reads the extracted snapshot (default: /dev/shm when it has room) and where --mode full proves a copy of the data directory (default: beside it)" };
        var etcdBinary = new Option<string?>("--etcd-binary") { Description = "etcd binary for --mode full, which proves the directory by starting etcd on a copy (default: etcd on PATH); nothing else in init needs etcd" };
        var output = OutputFormats.Option();
        var command = new Command("init",
            "Check etcd's data directory before etcd starts and decide: missing, empty, damaged, or behind the store → restore the store's newest " +
            "point; healthy, or newer than the store → keep it. A replaced directory is kept as DIR.damaged-<time> (or DIR.replaced-<time>). " +
            "Exit 0 when the directory is ready for etcd, 7 when init refused to act (nothing was changed).");
        store.AddTo(command);
        command.Options.Add(dataDir);
        member.AddTo(command);
        foreach (var o in new Option[] { state, mode, discard, scratch, etcdBinary, output })
        {
            command.Options.Add(o);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new InitOptions
            {
                DataDir = parse.GetValue(dataDir)!,
                Member = member.Read(parse),
                CheckMemberIds = parse.GetValue(state) == "new",
                Mode = parse.GetValue(mode),
                DiscardDamaged = parse.GetValue(discard),
                ScratchDir = parse.GetValue(scratch),
                EtcdBinary = parse.GetValue(etcdBinary),
            };
            var initializer = new EtcdInitializer(store.Open(parse, context.Time, create: false), context.Time,
                context.Loggers.CreateLogger("Lifeboat.Etcd.Init"));
            var result = await CountProgress.RunAsync(context, "restore", progress => initializer.RunAsync(options, progress, cancellationToken));
            if (parse.GetValue(output).IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, parse.GetValue(output), result);
            }
            else
            {
                await context.Output.WriteLineAsync($"found: {result.Report.Reason}");
                await context.Output.WriteLineAsync($"decision: {result.Decision.Action.ToString().ToLowerInvariant()}, because {result.Decision.Reason}");
                if (result.Restored is { } restored)
                {
                    await context.Output.WriteLineAsync($"restored {restored.DataDir} at revision {restored.Revision} from {restored.FullSnapshot} + " +
                        $"{restored.RevisionsReplayed} revisions in {result.Duration.TotalSeconds:0.00} s");
                    if (result.KeptAs is { } kept)
                    {
                        await context.Output.WriteLineAsync($"the previous contents were kept as {kept}");
                    }
                    else if (parse.GetValue(discard) && result.Report.IsDamaged)
                    {
                        await context.Output.WriteLineAsync("the previous contents were discarded (--discard-damaged)");
                    }
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
