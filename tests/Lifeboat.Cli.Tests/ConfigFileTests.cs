using Lifeboat.Cli.Commands;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

public sealed class ConfigFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static System.CommandLine.Command Serve()
    {
        using var context = new CliContext(TextWriter.Null, TextWriter.Null, interactive: false, TimeProvider.System);
        return LifeboatCli.CreateRoot(context).Root.Parse(["etcd", "serve"]).CommandResult.Command;
    }

    private string Write(string yaml)
    {
        var path = _dir.Combine($"{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public void Expand_FileValues_YieldToFlagsAndEnvironment()
    {
        var file = Write("store: file:///from-file\ndelta-period: 2m\nlisten: 0.0.0.0:9090\nkeep: 3\n");
        var environment = new Dictionary<string, string> { ["LIFEBOAT_LISTEN"] = "127.0.0.1:1" };

        var args = ConfigFile.Expand(["etcd", "serve", "--config", file, "--keep", "9"], Serve(), environment.GetValueOrDefault);

        Assert.Equal(["etcd", "serve", "--keep", "9", "--store", "file:///from-file", "--delta-period", "2m"], args);
    }

    [Fact]
    public void Expand_UnknownKeyOrBadFile_NamesTheProblem()
    {
        var unknown = Assert.Throws<ArgumentException>(() => ConfigFile.Expand(["etcd", "serve", "--config", Write("stroe: x\n")], Serve(), _ => null));
        var notMap = Assert.Throws<ArgumentException>(() => ConfigFile.Expand(["etcd", "serve", "--config", Write("- a\n- b\n")], Serve(), _ => null));
        var missing = Assert.Throws<ArgumentException>(() => ConfigFile.Expand(["etcd", "serve", "--config", _dir.Combine("none.yaml")], Serve(), _ => null));

        Assert.Contains("'stroe'", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("map", notMap.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_WithAnInvalidValueInTheConfigFile_Exits2()
    {
        var file = Write("store: /tmp/x\nfull-schedule: every day\n");
        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "serve", "--config", file);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("cron fields", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABareNumberInTheFile_IsRefused_NotReadAsDays()
    {
        var file = Write("store: file:///backups\ndelta-period: 5\n");

        var (code, stdout, stderr) = await CliRunner.RunAsync("etcd", "serve", "--config", file);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", stdout);
        Assert.Contains("--delta-period '5' has no unit: write it like 300ms, 5s, 5m, 1h30m or 7d", stderr, StringComparison.Ordinal);
    }
}
