using System.CommandLine;
using System.CommandLine.Parsing;

namespace Lifeboat.Cli.Output;

/// <summary>
/// Turns the parser's errors into the one line Lifeboat prints for a bad command line: the first real problem, and a
/// "did you mean" for a mistyped or misplaced command or flag (<c>etcd snapshot list</c> → <c>etcd snapshots list</c>).
/// </summary>
internal static class UsageErrors
{
    /// <summary>Commands as etcdctl and Velero users type them, and Lifeboat's name for each.</summary>
    private static readonly Dictionary<string, string> Synonyms = new(StringComparer.Ordinal)
    {
        ["lifeboat etcd snapshot save"] = "lifeboat etcd snapshot full",
        ["lifeboat etcd snapshot restore"] = "lifeboat etcd restore",
        ["lifeboat etcd snapshot status"] = "lifeboat etcd snapshots describe",
        ["lifeboat etcd snapshot prune"] = "lifeboat etcd snapshots prune",
        ["lifeboat etcd snapshot verify"] = "lifeboat etcd snapshots verify",
        ["lifeboat etcd snapshot describe"] = "lifeboat etcd snapshots describe",
        ["lifeboat etcd snapshots full"] = "lifeboat etcd snapshot full",
        ["lifeboat etcd snapshots delta"] = "lifeboat etcd snapshot delta",
        ["lifeboat etcd snapshots save"] = "lifeboat etcd snapshot full",
        ["lifeboat etcd backup"] = "lifeboat etcd snapshot full",
        ["lifeboat backup create"] = "lifeboat resources backup",
        ["lifeboat restore create"] = "lifeboat resources restore",
    };

    public static (string Message, string Fix) Describe(ParseResult parse)
    {
        var path = CommandPath(parse.CommandResult);
        var help = $"see '{path} --help'";
        if (parse.UnmatchedTokens.Count > 0)
        {
            var token = parse.UnmatchedTokens[0];
            var command = parse.CommandResult.Command;
            if (token.StartsWith('-'))
            {
                var flag = token.Split('=', 2)[0];
                var near = Nearest(flag, command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)));
                return ($"unknown flag '{flag}' for '{path}'", near is null ? help : $"did you mean '{near}'? ({help})");
            }

            if (command.Subcommands.Count > 0)
            {
                var suggestion = Synonyms.GetValueOrDefault($"{path} {token}")
                    ?? (Nearest(token, command.Subcommands.Select(c => c.Name)) is { } sub ? $"{path} {sub}" : null)
                    ?? Elsewhere(Root(parse.CommandResult), path, token);
                return ($"'{token}' is not a command of '{path}'",
                    suggestion is null ? help : $"did you mean '{suggestion}'? ({help})");
            }

            return ($"unexpected argument '{token}' for '{path}'", help);
        }

        var errors = parse.Errors.Select(e => e.Message).ToList();
        if (errors.Count == 0)
        {
            return ("the command line could not be read", help);
        }

        var message = errors.Count > 1 && errors[0].StartsWith("Required command was not provided", StringComparison.Ordinal) ? errors[1] : errors[0];
        if (message.StartsWith("Required command was not provided", StringComparison.Ordinal))
        {
            var commands = string.Join(", ", parse.CommandResult.Command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name));
            return ($"'{path}' needs a command: one of {commands}", help);
        }

        return (string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).TrimEnd('.'), help);
    }

    public static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (var r = result; r is not null; r = r.Parent as CommandResult)
        {
            names.Add(r.Command.Name);
        }

        names.Reverse();
        names[0] = "lifeboat";
        return string.Join(' ', names);
    }

    private static Command Root(CommandResult result)
    {
        var r = result;
        while (r.Parent is CommandResult parent)
        {
            r = parent;
        }

        return r.Command;
    }

    /// <summary>
    /// A command of that name somewhere else in the tree, the one nearest to where it was typed (<c>etcd snapshot list</c>
    /// → <c>etcd snapshots list</c>, not <c>volumes list</c>).
    /// </summary>
    private static string? Elsewhere(Command root, string typedAt, string name)
    {
        var found = new List<string>();
        void Walk(Command command, string path)
        {
            foreach (var sub in command.Subcommands)
            {
                var subPath = $"{path} {sub.Name}";
                if (sub.Name == name || sub.Aliases.Contains(name))
                {
                    found.Add(subPath);
                }

                Walk(sub, subPath);
            }
        }

        Walk(root, "lifeboat");
        static int Shared(string a, string b)
        {
            var n = 0;
            while (n < a.Length && n < b.Length && a[n] == b[n])
            {
                n++;
            }

            return n;
        }

        var ranked = found.Select(f => (Path: f, Shared: Shared(f, typedAt))).OrderByDescending(f => f.Shared).ToList();
        return ranked.Count == 1 || (ranked.Count > 1 && ranked[0].Shared > ranked[1].Shared) ? ranked[0].Path : null;
    }

    private static string? Nearest(string typed, IEnumerable<string> candidates)
    {
        var best = candidates
            .Select(c => (Name: c, Distance: Distance(typed, c)))
            .Where(c => c.Distance <= Math.Max(1, Math.Min(3, typed.Length / 3)))
            .OrderBy(c => c.Distance)
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        return best.Name;
    }

    /// <summary>Levenshtein distance.</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
