namespace Lifeboat.Cli.Tests;

/// <summary>Runs the CLI in-process with captured output, as a non-interactive terminal.</summary>
internal static class CliRunner
{
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await LifeboatCli.RunAsync(args, stdout, stderr, interactive: false, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
