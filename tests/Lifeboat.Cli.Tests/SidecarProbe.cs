using System.Text.Json;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>Waits on a running sidecar through its HTTP API.</summary>
internal static class SidecarProbe
{
    public static Task WaitReadyAsync(HttpClient http) =>
        Eventually.SucceedsAsync(async ct => (await http.GetAsync("/readyz", ct)).EnsureSuccessStatusCode(), TimeSpan.FromSeconds(30), "the sidecar to be ready");

    /// <summary>GET /snapshots/latest.</summary>
    public static async Task<JsonElement> LatestAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var doc = JsonDocument.Parse(await http.GetStringAsync("/snapshots/latest", cancellationToken));
        return doc.RootElement.Clone();
    }

    /// <summary>Until the chain reaches <paramref name="revision"/> (captured, not necessarily written yet).</summary>
    public static Task WaitChainAsync(HttpClient http, long revision, TimeSpan timeout, string what) =>
        Eventually.SucceedsAsync(async ct => (await LatestAsync(http, ct)).GetProperty("chainRevision").GetInt64() >= revision
            ? 0 : throw new InvalidOperationException("not captured yet"), timeout, what);

    /// <summary>Until a delta reaching <paramref name="revision"/> has been written.</summary>
    /// <param name="serve">The running sidecar: when it has ended, the wait fails at once with its output.</param>
    public static Task WaitDeltaAsync(HttpClient http, long revision, TimeSpan timeout, string what,
        Task<(int ExitCode, string Stdout, string Stderr)>? serve = null) =>
        Eventually.SucceedsAsync(async ct =>
        {
            if (serve is { IsCompleted: true })
            {
                var (code, stdout, stderr) = await serve;
                throw new Xunit.Sdk.XunitException($"the sidecar ended (exit {code}) while waiting for {what}: {stderr}{stdout}");
            }

            return (await LatestAsync(http, ct)).GetProperty("delta") is { ValueKind: JsonValueKind.Object } delta
                && delta.GetProperty("name").GetProperty("lastRevision").GetInt64() >= revision
                ? 0 : throw new InvalidOperationException("not written yet");
        }, timeout, what);
}
