using System.Diagnostics;
using System.Text;

namespace Lifeboat.Testing;

/// <summary>Runs a command line through bash, as a user types it, with captured output and a timeout.</summary>
public static class Shell
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    /// <summary>How bash is started for <paramref name="commandLine"/>: output captured, <paramref name="environment"/> applied (null removes a variable).</summary>
    public static ProcessStartInfo StartInfo(string commandLine, string workingDirectory, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var psi = new ProcessStartInfo("bash", ["-c", commandLine])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                psi.Environment.Remove(name);
            }
            else
            {
                psi.Environment[name] = value;
            }
        }

        return psi;
    }

    public static async Task<Result> RunAsync(string commandLine, string workingDirectory, IReadOnlyDictionary<string, string?>? environment = null,
        TimeSpan? timeout = null)
    {
        var psi = StartInfo(commandLine, workingDirectory, environment);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("bash did not start");
        process.StandardInput.Close();
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stdout)
                {
                    stdout.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            throw new TimeoutException($"'{commandLine}' did not finish within {timeout ?? TimeSpan.FromMinutes(2)}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
        }

        return new Result(process.ExitCode, stdout.ToString(), stderr.ToString());
    }
}
