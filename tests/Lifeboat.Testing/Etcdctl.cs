using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Lifeboat.Testing;

/// <summary>Debian's etcdctl, the reference tool that Lifeboat's snapshots must satisfy.</summary>
public static class Etcdctl
{
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken = default)
    {
        var psi = new ProcessStartInfo(EtcdServer.EtcdctlBinary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["ETCDCTL_API"] = "3";
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary><c>etcdctl snapshot status</c>: the revision and key count etcd's tool reads from a snapshot file.</summary>
    public static async Task<(long Revision, long TotalKeys)> SnapshotStatusAsync(string file)
    {
        var (code, stdout, stderr) = await RunAsync(["snapshot", "status", file, "-w", "json"]);
        if (code != 0)
        {
            throw new InvalidOperationException($"etcdctl snapshot status failed ({code}): {stderr}");
        }

        using var doc = JsonDocument.Parse(stdout);
        return (doc.RootElement.GetProperty("revision").GetInt64(), doc.RootElement.GetProperty("totalKey").GetInt64());
    }

    /// <summary><c>etcdctl snapshot restore</c> into <paramref name="dataDir"/> for a single member named like <see cref="EtcdServer"/>'s.</summary>
    public static async Task RestoreAsync(string file, string dataDir)
    {
        var peer = $"http://127.0.0.1:{LoopbackPorts.Next().ToString(CultureInfo.InvariantCulture)}";
        var (code, _, stderr) = await RunAsync(["snapshot", "restore", file, "--data-dir", dataDir, "--name", "lifeboat-test",
            "--initial-cluster", $"lifeboat-test={peer}", "--initial-advertise-peer-urls", peer]);
        if (code != 0)
        {
            throw new InvalidOperationException($"etcdctl snapshot restore failed ({code}): {stderr}");
        }
    }
}
