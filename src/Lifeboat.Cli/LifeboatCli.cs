using System.CommandLine;
using Lifeboat.Cli.Commands;
using Lifeboat.Cli.Output;

namespace Lifeboat.Cli;

/// <summary>
/// The <c>lifeboat</c> command line: noun-verb commands (<c>lifeboat etcd snapshot full</c>). Every failure ends as
/// one line on standard error and a documented exit code (<see cref="ExitCodes"/>); stack traces only with --verbose.
/// </summary>
internal static class LifeboatCli
{
    /// <summary>No response files: an argument starting with '@' is a value (<c>--cron @hourly</c>), never a file to read arguments from.</summary>
    internal static readonly ParserConfiguration Parsing = new() { ResponseFileTokenReplacer = null };

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, bool interactive, CancellationToken cancellationToken)
    {
        using var context = new CliContext(output, error, interactive, TimeProvider.System);
        var (root, verbose) = CreateRoot(context);
        try
        {
            args = ExpandConfigFile(root, args);
        }
        catch (ArgumentException ex)
        {
            return ErrorReporter.Report(ex, error, verbose: false);
        }

        var parse = root.Parse(args, Parsing);
        context.Verbose = parse.GetValue(verbose);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                await error.WriteLineAsync($"error: {e.Message} — fix: see '{CommandPath(parse)} --help'");
            }

            return ExitCodes.Usage;
        }

        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false },
                cancellationToken);
        }
        catch (Exception ex)
        {
            return ErrorReporter.Report(ex, error, context.Verbose);
        }
    }

    /// <summary>The whole command tree, for running and for checking command lines (e.g. in deploy manifests) without running them.</summary>
    internal static (RootCommand Root, Option<bool> Verbose) CreateRoot(CliContext context)
    {
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Show debug logs and stack traces", Recursive = true };
        var root = new RootCommand("Lifeboat: backup and restore for Kubernetes clusters (etcd, volumes, resources).\n" + ExitCodes.HelpText);
        root.Options.Add(verbose);
        root.Subcommands.Add(EtcdCommands.Create(context));
        root.Subcommands.Add(VolumeCommands.Create(context));
        root.Subcommands.Add(ResourceCommands.Create(context));
        return (root, verbose);
    }

    /// <summary>Expands <c>--config FILE</c> into flags of the command it was given to (see <see cref="ConfigFile"/>).</summary>
    private static string[] ExpandConfigFile(RootCommand root, string[] args)
    {
        if (!args.Any(a => a == ConfigFile.Flag || a.StartsWith(ConfigFile.Flag + "=", StringComparison.Ordinal)))
        {
            return args;
        }

        var withoutConfig = args.Where((a, i) => a != ConfigFile.Flag && !a.StartsWith(ConfigFile.Flag + "=", StringComparison.Ordinal)
            && (i == 0 || args[i - 1] != ConfigFile.Flag)).ToArray();
        var command = root.Parse(withoutConfig, Parsing).CommandResult.Command;
        return ConfigFile.Expand(args, command, Environment.GetEnvironmentVariable);
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Add(result.Command.Name);
        }

        names.Reverse();
        names[0] = "lifeboat";
        return string.Join(' ', names);
    }
}
