namespace Lifeboat.Cli.Tests;

/// <summary>Runs the CLI in-process with captured output, as a non-interactive terminal.</summary>
internal static class CliRunner
{
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) => RunAsync(CancellationToken.None, args);

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(CancellationToken cancellationToken, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await Task.Run(() => LifeboatCli.RunAsync(args, stdout, stderr, interactive: false, cancellationToken), CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
