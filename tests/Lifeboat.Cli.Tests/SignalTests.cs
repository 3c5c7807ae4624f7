using System.Diagnostics;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>The real executable, stopped by SIGTERM mid-snapshot, as Kubernetes stops a container.</summary>
public sealed class SignalTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private EtcdServer? _etcd;

    public async Task InitializeAsync()
    {
        _etcd = await EtcdServer.StartAsync();
        using var client = _etcd.CreateClient();
        await EtcdLoad.PutManyAsync(client, "/sig/", 150_000, 2000); // ~300 MB: a snapshot long enough to interrupt
    }

    public async Task DisposeAsync()
    {
        await _etcd!.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task SnapshotFull_Sigterm_Exits130AndLeavesNothing()
    {
        var store = _dir.Combine("store");
        var cli = Path.Combine(AppContext.BaseDirectory, "lifeboat.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { cli, "etcd", "snapshot", "full", "--endpoints", _etcd!.ClientUrl.ToString(), "--store", store })
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        await Eventually.SucceedsAsync(_ =>
        {
            var part = Directory.Exists(Path.Combine(store, ".tmp"))
                ? Directory.EnumerateFiles(Path.Combine(store, ".tmp"), "*.part").Select(f => new FileInfo(f).Length).FirstOrDefault()
                : 0;
            return part > 1_000_000 ? Task.FromResult(true) : throw new InvalidOperationException($"no partial snapshot yet ({part} bytes)");
        }, TimeSpan.FromSeconds(30), "a snapshot in progress");

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == ExitCodes.Interrupted, $"exit {process.ExitCode}: {await stderr} {await stdout}");
        Assert.Contains("interrupted", await stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories));
    }
}
