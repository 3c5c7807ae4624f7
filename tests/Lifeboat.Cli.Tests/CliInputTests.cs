using System.CommandLine;
using System.CommandLine.Completions;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>
/// Bad input on every command, from the whole command tree rather than a hand-picked list: an unknown flag, a bad value
/// for every typed option, a missing required option. Each must be one line on stderr with its fix, exit 2, no stack
/// trace and no .NET type name, and nothing written. And every spelling of every option (<c>-n X</c>,
/// <c>--namespace X</c>, <c>--namespace=X</c>) parses to the same value.
/// </summary>
public sealed class CliInputTests
{
    private static readonly HashSet<Type> Untyped = [typeof(string), typeof(bool), typeof(string[]), typeof(FileInfo)];

    private static List<(string[] Path, Command Command)> Leaves()
    {
        using var context = new CliContext(TextWriter.Null, TextWriter.Null, interactive: false, TimeProvider.System);
        var (root, _) = LifeboatCli.CreateRoot(context);
        var leaves = new List<(string[], Command)>();
        void Walk(Command command, string[] path)
        {
            if (command.Subcommands.Count == 0)
            {
                leaves.Add((path, command));
            }

            foreach (var sub in command.Subcommands)
            {
                Walk(sub, [.. path, sub.Name]);
            }
        }

        Walk(root, []);
        return leaves;
    }

    public static TheoryData<string> Commands()
    {
        var data = new TheoryData<string>();
        foreach (var (path, _) in Leaves())
        {
            data.Add(string.Join(' ', path));
        }

        return data;
    }

    private static (string[] Path, Command Command) Find(string path) => Leaves().Single(l => string.Join(' ', l.Path) == path);

    /// <summary>A value the parser accepts for the option, chosen by its type (or its completions, for a fixed set of words).</summary>
    private static string SampleValue(Option option)
    {
        var words = option.GetCompletions(CompletionContext.Empty).Select(c => c.Label).Where(w => w.Length > 0).ToList();
        if (words.Count > 0)
        {
            return words[0];
        }

        var type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
        return type == typeof(TimeSpan) ? "5m"
            : (type == typeof(int) || type == typeof(long)) && option.HasDefaultValue ? Convert.ToString(option.GetDefaultValue(), System.Globalization.CultureInfo.InvariantCulture)!
            : type == typeof(int) || type == typeof(long) ? "5"
            : type == typeof(DateTimeOffset) ? "2026-11-21T09:30:00Z"
            : type == typeof(ulong[]) ? "cdf818194e3a8c32"
            : "sample";
    }

    /// <summary>The command, its arguments and its required options, each with a sample value: a line that parses.</summary>
    private static List<string> ValidLine(string[] path, Command command, Option? except = null)
    {
        var args = new List<string>(path);
        args.AddRange(command.Arguments.Where(a => a.Arity.MinimumNumberOfValues > 0).Select(_ => "sample"));
        foreach (var option in command.Options.Where(o => o.Required && o != except))
        {
            args.Add(option.Name);
            args.Add(SampleValue(option));
        }

        return args;
    }

    private static void AssertOneLineUsageError(int code, string stdout, string stderr, string context)
    {
        Assert.True(code == ExitCodes.Usage, $"{context}: exit {code}\n{stderr}");
        Assert.Equal("", stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"{context}: expected one line\n{stderr}");
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(" — fix: ", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("System.", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Lifeboat.", lines[0], StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task BadInput_IsOneLine_Exit2_AndWritesNothing(string commandPath)
    {
        var (path, command) = Find(commandPath);
        using var dir = new TempDirectory();
        var store = dir.Combine("store-that-must-not-appear");
        var hasStore = command.Options.Any(o => o.Name == "--store");
        List<string> Line(Option? except = null)
        {
            var line = ValidLine(path, command, except);
            if (hasStore)
            {
                line.AddRange(["--store", store]);
            }

            return line;
        }

        var (code, stdout, stderr) = await CliRunner.RunAsync([.. Line(), "--no-such-flag", "1"]);
        AssertOneLineUsageError(code, stdout, stderr, $"{commandPath} --no-such-flag");
        Assert.Contains("--no-such-flag", stderr, StringComparison.Ordinal);

        foreach (var option in command.Options.Where(o => !o.Hidden && !Untyped.Contains(o.ValueType)))
        {
            (code, stdout, stderr) = await CliRunner.RunAsync([.. Line(except: option), option.Name, "notavalue"]);
            AssertOneLineUsageError(code, stdout, stderr, $"{commandPath} {option.Name} notavalue");
            Assert.Contains(option.Name, stderr, StringComparison.Ordinal);
        }

        foreach (var option in command.Options.Where(o => o.Required))
        {
            (code, stdout, stderr) = await CliRunner.RunAsync([.. Line(except: option)]);
            AssertOneLineUsageError(code, stdout, stderr, $"{commandPath} without {option.Name}");
            Assert.Contains(option.Name, stderr, StringComparison.Ordinal);
        }

        Assert.False(Directory.Exists(store), $"{commandPath}: bad input created the store");
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void EverySpellingOfEveryOption_ParsesToTheSameValue(string commandPath)
    {
        var (path, _) = Find(commandPath);
        using var context = new CliContext(TextWriter.Null, TextWriter.Null, interactive: false, TimeProvider.System);
        var (root, _) = LifeboatCli.CreateRoot(context);
        Command command = root;
        foreach (var name in path)
        {
            command = command.Subcommands.Single(c => c.Name == name); // the parser's own option objects, not another tree's
        }

        foreach (var option in command.Options.Where(o => !o.Hidden && o.ValueType != typeof(bool) && o.Name != "--help"))
        {
            var value = SampleValue(option);
            var baseline = ValidLine(path, command, except: option);
            var spellings = option.Aliases.Append(option.Name)
                .SelectMany(alias => new[] { new[] { alias, value }, alias.StartsWith("--", StringComparison.Ordinal) ? [$"{alias}={value}"] : null })
                .OfType<string[]>().ToList();
            string? first = null;
            foreach (var spelling in spellings)
            {
                var parse = root.Parse([.. baseline, .. spelling], LifeboatCli.Parsing);
                Assert.True(parse.Errors.Count == 0, $"lifeboat {commandPath} {string.Join(' ', spelling)}: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
                var got = parse.GetResult(option) is { Implicit: false } ? Describe(ValueOf(parse, option)) : null;
                first ??= got;
                Assert.True(got is not null && got == first, $"lifeboat {commandPath} {string.Join(' ', spelling)} read '{got}', first spelling read '{first}'");
            }
        }
    }

    /// <summary><c>parse.GetValue&lt;T&gt;(option)</c> for the option's own T, as the commands read it.</summary>
    private static object? ValueOf(ParseResult parse, Option option) =>
        typeof(ParseResult).GetMethods().Single(m => m.Name == nameof(ParseResult.GetValue) && m.IsGenericMethod && m.GetParameters()[0].ParameterType.IsGenericType
                && m.GetParameters()[0].ParameterType.GetGenericTypeDefinition() == typeof(Option<>))
            .MakeGenericMethod(option.ValueType).Invoke(parse, [option]);

    private static string Describe(object? value) => value switch
    {
        null => "null",
        string[] many => string.Join(",", many),
        ulong[] ids => string.Join(",", ids),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };

    [Theory]
    [InlineData("volumes snapshot", "--pvc", "data")]
    [InlineData("volumes list", null, null)]
    [InlineData("volumes restore", "--snapshot", "s")]
    [InlineData("volumes schedule run", "--schedule-name", "hourly")]
    public void Namespace_EverySpellingTheReadmeShows_IsAccepted(string command, string? flag, string? value)
    {
        using var context = new CliContext(TextWriter.Null, TextWriter.Null, interactive: false, TimeProvider.System);
        var (root, _) = LifeboatCli.CreateRoot(context);
        foreach (string[] spelling in (string[][])[["-n", "shop"], ["--namespace", "shop"], ["--namespace=shop"]])
        {
            var args = command.Split(' ').Concat(flag is null ? [] : new[] { flag, value! }).Concat(spelling).ToArray();
            var parse = root.Parse(args, LifeboatCli.Parsing);
            Assert.True(parse.Errors.Count == 0, $"{string.Join(' ', args)}: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
        }
    }

    [Fact]
    public async Task BareNumberDurations_AreRefused_AsEtcdctlDoes()
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--store", "/nonexistent", "--dial-timeout", "5");
        AssertOneLineUsageError(code, stdout, stderr, "--dial-timeout 5");
        Assert.Contains("'5' has no unit", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownSubcommands_SuggestLifeboatsName()
    {
        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "save");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("did you mean 'lifeboat etcd snapshot full'?", stderr, StringComparison.Ordinal);

        (code, _, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "list");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("did you mean 'lifeboat etcd snapshots list'?", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Completion_Bash_CompletesCommandsFromLifeboatItself()
    {
        using var dir = new TempDirectory();
        await LifeboatShim.WriteAsync(dir.Path);
        var script = """
            source <(lifeboat completion bash)
            COMP_LINE="lifeboat etcd snap"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(lifeboat etcd snap); COMP_CWORD=2
            _lifeboat_complete
            printf '%s\n' "${COMPREPLY[@]}"
            """;

        var result = await Shell.RunAsync(script, dir.Path, new Dictionary<string, string?> { ["PATH"] = dir.Path + ":" + Environment.GetEnvironmentVariable("PATH") });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["snapshot", "snapshots"], result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
    }
}
