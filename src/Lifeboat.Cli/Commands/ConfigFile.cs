using System.CommandLine;
using YamlDotNet.RepresentationModel;

namespace Lifeboat.Cli.Commands;

/// <summary>
/// <c>--config FILE</c>: a YAML map whose keys are a command's flag names without the dashes
/// (<c>store: file:///backups</c>, <c>delta-period: 5m</c>). It is expanded into flags before parsing, so one
/// validation path serves flags, environment and file. Precedence: flags, then <c>LIFEBOAT_*</c> environment
/// variables, then the file, then defaults.
/// </summary>
internal static class ConfigFile
{
    public const string Flag = "--config";

    /// <exception cref="ArgumentException">The file is missing, not a YAML map of scalars, or names an unknown flag.</exception>
    public static string[] Expand(string[] args, Command command, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(command);
        var at = Array.FindIndex(args, a => a == Flag || a.StartsWith(Flag + "=", StringComparison.Ordinal));
        if (at < 0)
        {
            return args;
        }

        var path = args[at].Contains('=', StringComparison.Ordinal) ? args[at][(Flag.Length + 1)..]
            : at + 1 < args.Length ? args[at + 1] : throw new ArgumentException($"{Flag} needs a file path");
        var rest = args.Where((_, i) => i != at && (args[at].Contains('=', StringComparison.Ordinal) || i != at + 1)).ToList();
        if (!File.Exists(path))
        {
            throw new ArgumentException($"{Flag} file '{path}' does not exist");
        }

        var yaml = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            yaml.Load(reader);
        }
        catch (YamlDotNet.Core.YamlException ex)
        {
            throw new ArgumentException($"{Flag} file '{path}' is not valid YAML: {ex.Message}", ex);
        }

        if (yaml.Documents.Count == 0)
        {
            return [.. rest];
        }

        if (yaml.Documents[0].RootNode is not YamlMappingNode map)
        {
            throw new ArgumentException($"{Flag} file '{path}' must be a map of option names to values (store: file:///backups)");
        }

        var known = command.Options.Select(o => o.Name.TrimStart('-')).ToHashSet(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var key = ((YamlScalarNode)keyNode).Value ?? "";
            if (!known.Contains(key) || key == "help")
            {
                throw new ArgumentException($"{Flag} file '{path}' names '{key}', which is not an option of '{command.Name}' (see --help)");
            }

            if (valueNode is not YamlScalarNode { Value: { } value })
            {
                throw new ArgumentException($"{Flag} file '{path}': '{key}' must be a single value");
            }

            var flag = "--" + key;
            var givenAsFlag = rest.Any(a => a == flag || a.StartsWith(flag + "=", StringComparison.Ordinal));
            var givenByEnvironment = environment("LIFEBOAT_" + key.Replace('-', '_').ToUpperInvariant()) is not null;
            if (!givenAsFlag && !givenByEnvironment)
            {
                rest.Add(flag);
                rest.Add(value);
            }
        }

        return [.. rest];
    }
}
