using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>
/// <c>lifeboat etcd serve</c> running in-process on a loopback port, with a client for its HTTP API. Disposing it stops
/// the sidecar, so a failing test does not leave one running.
/// </summary>
internal sealed class RunningSidecar : IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    private RunningSidecar(string[] serveArgs)
    {
        var port = LoopbackPorts.Next();
        Run = CliRunner.RunAsync(_stop.Token, ["etcd", "serve", .. serveArgs, "--listen", $"127.0.0.1:{port}"]);
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public HttpClient Http { get; }

    /// <summary>The command: completes when the sidecar ends.</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> Run { get; }

    /// <summary>Starts <c>etcd serve</c> with <paramref name="serveArgs"/> (the port is added) and does not wait for it.</summary>
    public static RunningSidecar Start(params string[] serveArgs) => new(serveArgs);

    /// <summary>Starts it and waits until <c>/readyz</c> answers.</summary>
    public static async Task<RunningSidecar> StartReadyAsync(params string[] serveArgs)
    {
        var sidecar = new RunningSidecar(serveArgs);
        try
        {
            await SidecarProbe.WaitReadyAsync(sidecar.Http);
            return sidecar;
        }
        catch
        {
            sidecar.Dispose();
            throw;
        }
    }

    /// <summary>Stops it as SIGTERM does and returns how it ended.</summary>
    public async Task<(int ExitCode, string Stdout, string Stderr)> StopAsync()
    {
        await _stop.CancelAsync();
        return await Run;
    }

    public void Dispose()
    {
        _stop.Cancel();
        Http.Dispose();
        _stop.Dispose();
    }
}
