using System.CommandLine;
using Lifeboat.Cli.Hosting;
using Lifeboat.Etcd.Init;
using Lifeboat.Etcd.Restore;

namespace Lifeboat.Cli.Commands;

/// <summary><c>lifeboat etcd run -- &lt;etcd flags&gt;</c>: init, then etcd, supervised.</summary>
internal static class EtcdRunCommand
{
    public static Command Create(CliContext context)
    {
        var store = new StoreOptions();
        var mode = new Option<InitMode>("--mode") { Description = "Depth of the data directory check (see init)", DefaultValueFactory = _ => InitMode.Sanity }.OneOf();
        var discard = new Option<bool>("--discard-damaged") { Description = "Delete a damaged data directory after restoring instead of keeping it aside" };
        var etcdBinary = new Option<string?>("--etcd-binary") { Description = "etcd binary (default: etcd on PATH)" };
        var etcdArgs = new Argument<string[]>("etcd-flags") { Description = "etcd's own flags, after --", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("run",
            "Run init on etcd's data directory (read from etcd's flags: --data-dir, --name, --initial-cluster, --initial-cluster-token, " +
            "--initial-advertise-peer-urls, --initial-cluster-state), then start etcd with those flags and supervise it: when etcd exits " +
            "with an error, init runs again (restoring what broke) and etcd is restarted. Example: lifeboat etcd run --store file:///backups -- " +
            "--name etcd-0 --data-dir /var/lib/etcd ...");
        store.AddTo(command);
        command.Options.Add(mode);
        command.Options.Add(discard);
        command.Options.Add(etcdBinary);
        command.Arguments.Add(etcdArgs);
        command.SetAction(async (parse, cancellationToken) =>
        {
            // etcd's flags come after "--"; anything before it that the parser did not know is a mistyped Lifeboat flag,
            // which must not reach etcd silently.
            var given = parse.GetValue(etcdArgs) ?? [];
            if (given.Length > 0 && !parse.Tokens.Any(t => t.Type == System.CommandLine.Parsing.TokenType.DoubleDash))
            {
                throw new ArgumentException($"unknown flag '{given[0]}' for 'lifeboat etcd run': Lifeboat's flags come first, then --, then etcd's flags");
            }

            context.LongRunning = true;
            var line = EtcdCommandLine.Parse(given);
            var init = new InitOptions
            {
                DataDir = line.DataDir,
                Member = line.Member,
                CheckMemberIds = !line.JoinsExisting,
                Mode = parse.GetValue(mode),
                DiscardDamaged = parse.GetValue(discard),
                EtcdBinary = parse.GetValue(etcdBinary),
            };
            var tools = EtcdTools.Locate(parse.GetValue(etcdBinary));
            var supervisor = new EtcdSupervisor(store.Open(parse, context.Time, create: false), line, init, tools.EtcdBinary, context.Time,
                context.Loggers.CreateLogger("Lifeboat.Etcd.Run"));
            var code = await supervisor.RunAsync(cancellationToken);
            return code == 0 ? ExitCodes.Success : ExitCodes.EtcdError;
        });
        return command;
    }
}
