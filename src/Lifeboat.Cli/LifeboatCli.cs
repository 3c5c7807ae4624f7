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

        ParseResult parse;
        try
        {
            parse = root.Parse(args, Parsing);
        }
        catch (InvalidOperationException ex)
        {
            // A validator read a value that did not parse. Every typed option has a parser of its own (Values), so this is
            // a bug; still one line and the usage code, not a crash.
            return ErrorReporter.Report(new ArgumentException(ex.Message, ex), error, args.Contains("--verbose") || args.Contains("-v"));
        }

        context.Verbose = parse.GetValue(verbose);
        if (parse.Errors.Count > 0)
        {
            var (message, fix) = UsageErrors.Describe(parse);
            await error.WriteLineAsync($"error: {message} — fix: {fix}");
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
        root.Subcommands.Add(InfoCommands.Version(context));
        root.Subcommands.Add(InfoCommands.Completion(context));
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
}
