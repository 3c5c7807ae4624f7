using System.CommandLine;
using System.Text.RegularExpressions;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests.Docs;

/// <summary>
/// Every command line in README.md and docs/*.md runs here as written (placeholders substituted, see
/// <see cref="DocSandbox"/>) and must exit as the docs say: a user types these first, so a doc example that cannot run
/// is a failing test. Usage synopses and the commands quoted in prose are checked against the real parser: every flag
/// they name must exist on the command they name.
/// </summary>
public sealed partial class DocCommandTests
{
    /// <summary>Lines that run elsewhere, with where: nothing else may be left out.</summary>
    private static readonly Dictionary<string, string> RunElsewhere = new(StringComparer.Ordinal)
    {
        ["./test.sh"] = "it is this suite; CI runs it (.ci/run execs it, checked below)",
        ["./quickstart.sh"] = "QuickStart_RunsAsDocumented runs it",
    };

    public static TheoryData<string> DocFiles()
    {
        var files = new TheoryData<string>();
        foreach (var file in DocumentPaths())
        {
            files.Add(Path.GetRelativePath(Repository.Root, file));
        }

        return files;
    }

    private static IEnumerable<string> DocumentPaths() =>
        Directory.EnumerateFiles(Repository.Path("docs"), "*.md").Order(StringComparer.Ordinal).Prepend(Repository.Path("README.md"));

    [Theory]
    [MemberData(nameof(DocFiles))]
    public async Task EveryCommandLine_RunsAsWritten_AndExitsAsDocumented(string file)
    {
        var commands = MarkdownCommands.Runnable(Repository.Path(file));
        if (commands.Count == 0)
        {
            return; // this document shows no command lines (its synopses are checked below)
        }

        await using var sandbox = await DocSandbox.StartAsync();
        foreach (var command in commands)
        {
            if (RunElsewhere.ContainsKey(command.Text))
            {
                continue;
            }

            var line = await sandbox.PrepareAsync(command.Text);
            await sandbox.WriteSampleDataAsync();
            var result = IsLongRunning(command.Text)
                ? await sandbox.RunUntilReadyThenStopAsync(line)
                : await Shell.RunAsync(line, sandbox.WorkDir, sandbox.Environment(), TimeSpan.FromMinutes(3));

            Assert.True(result.ExitCode == command.ExpectedExit,
                $"{command}\nran as: {line}\nexpected exit {command.ExpectedExit}, got {result}");
            Assert.DoesNotMatch(StackFrame(), result.Stderr);
            if (command.ExpectedExit != 0 && command.Text.Contains("lifeboat", StringComparison.Ordinal))
            {
                var errorLines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
                Assert.True(errorLines.Count == 1, $"{command}: a failure is one 'error:' line with its fix\n{result}");
                Assert.Contains(" — fix: ", errorLines[0], StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void TheTestCommand_IsWhatCiRuns()
    {
        var ci = File.ReadAllText(Repository.Path(".ci", "run"));
        Assert.Contains("exec ./test.sh", ci, StringComparison.Ordinal);
        Assert.Contains(MarkdownCommands.Runnable(Repository.Path("README.md")), c => c.Text == "./test.sh");
    }

    [Fact]
    public async Task QuickStart_RunsAsDocumented()
    {
        Assert.Contains(MarkdownCommands.Runnable(Repository.Path("README.md")), c => c.Text == "./quickstart.sh");
        var environment = new Dictionary<string, string?>
        {
            ["LIFEBOAT_QS_CLIENT_PORT"] = LoopbackPorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["LIFEBOAT_QS_PEER_PORT"] = LoopbackPorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["LIFEBOAT_QS_API_PORT"] = LoopbackPorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["LIFEBOAT_QS_DIR"] = null,
        };

        var result = await Shell.RunAsync("./quickstart.sh", Repository.Root, environment, TimeSpan.FromMinutes(8));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("restored ", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"key\"", result.Stdout, StringComparison.Ordinal); // the delta taken over the API
    }

    [Theory]
    [MemberData(nameof(DocFiles))]
    public void EverySynopsisAndQuotedCommand_NamesOnlyFlagsThatExist(string file)
    {
        var path = Repository.Path(file);
        var quoted = QuotedCommand().Matches(File.ReadAllText(path)).Select(m => m.Groups["command"].Value);
        using var context = new CliContext(TextWriter.Null, TextWriter.Null, interactive: false, TimeProvider.System);
        var (root, _) = LifeboatCli.CreateRoot(context);
        var problems = new List<string>();
        foreach (var text in MarkdownCommands.Synopses(path).Select(s => s.Text).Concat(quoted))
        {
            var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
            Command command = root;
            var at = 0;
            while (at < words.Count && command.Subcommands.FirstOrDefault(c => c.Name == words[at]) is { } sub)
            {
                command = sub;
                at++;
            }

            var known = command.Options.Concat(root.Options.Where(o => o.Recursive))
                .SelectMany(o => o.Aliases.Append(o.Name)).Append("--help").Append("-h").ToHashSet(StringComparer.Ordinal);
            foreach (var word in words.Skip(at).TakeWhile(w => w != "--"))
            {
                foreach (Match flag in Flag().Matches(word))
                {
                    if (!known.Contains(flag.Value))
                    {
                        problems.Add($"'{text}' names {flag.Value}, which 'lifeboat {string.Join(' ', words.Take(at))}' does not have");
                    }
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static bool IsLongRunning(string text) => Regex.IsMatch(text, @"\blifeboat etcd serve\b");

    [GeneratedRegex(@"^\s+at \S+\(", RegexOptions.Multiline)]
    private static partial Regex StackFrame();

    [GeneratedRegex(@"`(?:\./)?(?<command>lifeboat [^`]+)`")]
    private static partial Regex QuotedCommand();

    [GeneratedRegex(@"(?<=^|\[|\|)--?[a-zA-Z][a-zA-Z0-9-]*")]
    private static partial Regex Flag();
}
