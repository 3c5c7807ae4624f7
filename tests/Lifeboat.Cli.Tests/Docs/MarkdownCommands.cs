using System.Text.RegularExpressions;

namespace Lifeboat.Cli.Tests.Docs;

/// <summary>A command line from the docs: where it is, what it says, and the exit code the docs promise.</summary>
public sealed record DocCommand(string File, int Line, string Text, int ExpectedExit)
{
    public override string ToString() => $"{File}:{Line}: {Text}";
}

/// <summary>
/// The command lines of a Markdown file: every line of a fenced block tagged <c>bash</c>, <c>sh</c> or <c>shell</c>,
/// with backslash continuations joined and comments dropped. A trailing <c># exit N</c> is the exit code the line must
/// end with (0 otherwise). Blocks tagged <c>text</c> (or untagged) are usage synopses, checked flag by flag instead.
/// </summary>
public static partial class MarkdownCommands
{
    [GeneratedRegex(@"^```(?<lang>[a-z]*)\s*$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"\s+#\s*exit\s+(?<code>\d+)\b.*$")]
    private static partial Regex ExitComment();

    public static List<DocCommand> Runnable(string path) =>
        Blocks(path).Where(b => b.Language is "bash" or "sh" or "shell").SelectMany(b => Lines(path, b.StartLine, b.Lines)).ToList();

    /// <summary>Usage synopses: lines starting with <c>lifeboat</c> in untagged or <c>text</c> blocks.</summary>
    public static List<DocCommand> Synopses(string path) =>
        Blocks(path).Where(b => b.Language is "" or "text").SelectMany(b => Lines(path, b.StartLine, b.Lines))
            .Where(c => c.Text.StartsWith("lifeboat ", StringComparison.Ordinal)).ToList();

    private static List<(string Language, int StartLine, List<string> Lines)> Blocks(string path)
    {
        var blocks = new List<(string, int, List<string>)>();
        var lines = File.ReadAllLines(path);
        for (var i = 0; i < lines.Length; i++)
        {
            var open = Fence().Match(lines[i]);
            if (!open.Success)
            {
                continue;
            }

            var body = new List<string>();
            var start = i + 2;
            for (i++; i < lines.Length && !lines[i].StartsWith("```", StringComparison.Ordinal); i++)
            {
                body.Add(lines[i]);
            }

            blocks.Add((open.Groups["lang"].Value, start, body));
        }

        return blocks;
    }

    private static IEnumerable<DocCommand> Lines(string path, int firstLine, List<string> body)
    {
        var file = Path.GetFileName(path);
        var current = "";
        var startedAt = 0;
        for (var i = 0; i < body.Count; i++)
        {
            var line = body[i].Trim();
            if (current.Length == 0 && (line.Length == 0 || line.StartsWith('#')))
            {
                continue;
            }

            if (current.Length == 0)
            {
                startedAt = firstLine + i;
            }

            if (line.EndsWith('\\'))
            {
                current += line[..^1].TrimEnd() + " ";
                continue;
            }

            current += line;
            var expected = 0;
            if (ExitComment().Match(current) is { Success: true } exit)
            {
                expected = int.Parse(exit.Groups["code"].Value, System.Globalization.CultureInfo.InvariantCulture);
                current = current[..exit.Index];
            }
            else if (current.IndexOf(" # ", StringComparison.Ordinal) is > 0 and var comment)
            {
                current = current[..comment];
            }

            yield return new DocCommand(file, startedAt, current.Trim(), expected);
            current = "";
        }
    }
}
