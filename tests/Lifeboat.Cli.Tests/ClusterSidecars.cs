using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>A sidecar (<c>etcd serve</c>, in-process) beside each member of a cluster, all writing to one store.</summary>
internal sealed class ClusterSidecars : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();

    public ClusterSidecars(EtcdCluster cluster, string store, params string[] moreArgs)
    {
        var ports = cluster.Members.Select(_ => LoopbackPorts.Next()).ToList();
        Runs = cluster.Members.Select((m, i) => CliRunner.RunAsync(_stop.Token, ["etcd", "serve", "--endpoints", m.ClientUrl.ToString(),
            "--store", store, "--listen", $"127.0.0.1:{ports[i]}", .. moreArgs])).ToList();
        Http = ports.Select(p => new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{p}") }).ToList();
    }

    /// <summary>The sidecars' runs, in member order: each completes when its sidecar ends.</summary>
    public IReadOnlyList<Task<(int ExitCode, string Stdout, string Stderr)>> Runs { get; }

    /// <summary>Their APIs, in member order.</summary>
    public IReadOnlyList<HttpClient> Http { get; }

    /// <summary>Sends every sidecar the signal to stop; returns their exit codes.</summary>
    public async Task<int[]> StopAsync()
    {
        await _stop.CancelAsync();
        return await Task.WhenAll(Runs.Select(async r => (await r).ExitCode));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var run in Runs)
        {
            try
            {
                await run;
            }
            catch (OperationCanceledException)
            {
            }
        }

        foreach (var http in Http)
        {
            http.Dispose();
        }

        _stop.Dispose();
    }
}
