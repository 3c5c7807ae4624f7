using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Lifeboat.Etcd.Client;

namespace Lifeboat.Etcd.Restore;

/// <summary>
/// Debian's etcd binaries as restore uses them: <c>etcdctl snapshot restore</c> to lay out a data directory from a
/// database file, and a temporary etcd on random loopback ports to replay deltas into.
/// </summary>
public sealed class EtcdTools(string etcdBinary, string etcdctlBinary)
{
    public string EtcdBinary { get; } = etcdBinary;

    public string EtcdctlBinary { get; } = etcdctlBinary;

    /// <summary>Finds <c>etcd</c> and <c>etcdctl</c> (explicit paths first, then PATH).</summary>
    /// <exception cref="RestoreRefusedException">One of them is missing.</exception>
    /// <param name="needEtcd">False when only etcdctl is run (a restore lays out the member with it; no etcd is started).</param>
    public static EtcdTools Locate(string? etcd = null, string? etcdctl = null, bool needEtcd = true) =>
        new(needEtcd ? Find("etcd", etcd, "--etcd-binary") : "", Find("etcdctl", etcdctl, "--etcdctl-binary"));

    /// <summary>
    /// Runs <c>etcdctl snapshot restore</c> of <paramref name="database"/> into <paramref name="dataDir"/> (which must not exist).
    /// </summary>
    /// <param name="database">
    /// A bare bbolt database (no trailing hash): Lifeboat verified the snapshot's hash while extracting it, or the
    /// database comes from a data directory, which carries none.
    /// </param>
    public async Task RestoreDatabaseAsync(string database, string dataDir, MemberFlags member, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(member);
        List<string> args =
        [
            "snapshot", "restore", database, "--data-dir", dataDir, "--name", member.Name,
            "--initial-cluster", member.InitialCluster, "--initial-cluster-token", member.InitialClusterToken,
            "--initial-advertise-peer-urls", member.InitialAdvertisePeerUrls, "--skip-hash-check",
        ];
        var (code, output) = await RunAsync(EtcdctlBinary, args, cancellationToken);
        if (code != 0)
        {
            var why = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
            throw new RestoreRefusedException($"etcdctl snapshot restore failed ({code}): {why}",
                "check the member flags (--name, --initial-cluster, --initial-advertise-peer-urls) against each other");
        }
    }

    /// <summary>Starts etcd on an existing data directory, bound to random loopback ports, and waits until it serves.</summary>
    /// <param name="extraArgs">More etcd flags, e.g. <c>--force-new-cluster</c> to start a copy of one member alone.</param>
    public async Task<TemporaryEtcd> StartTemporaryAsync(string dataDir, string name, CancellationToken cancellationToken, params string[] extraArgs)
    {
        var client = FreePort();
        var peer = FreePort();
        var clientUrl = $"http://127.0.0.1:{client.ToString(CultureInfo.InvariantCulture)}";
        var peerUrl = $"http://127.0.0.1:{peer.ToString(CultureInfo.InvariantCulture)}";
        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            ArgumentList = { "-c", Lifeline, EtcdBinary },
        };
        foreach (var a in new[]
                 {
                     "--name", name, "--data-dir", dataDir,
                     "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl,
                     "--listen-peer-urls", peerUrl,
                     // Replay sends one transaction per source revision; a revision that deleted many keys is one big txn.
                     "--max-txn-ops", "1000000", "--max-request-bytes", (256 << 20).ToString(CultureInfo.InvariantCulture),
                     "--quota-backend-bytes", (8L << 30).ToString(CultureInfo.InvariantCulture),
                     "--snapshot-count", "1000000", "--auto-compaction-retention", "0",
                     "--logger", "zap", "--log-outputs", "stderr",
                 }.Concat(extraArgs))
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new RestoreRefusedException("the temporary etcd did not start", "check --etcd-binary");
        var etcd = new TemporaryEtcd(process, new Uri(clientUrl));
        try
        {
            await etcd.WaitReadyAsync(cancellationToken);
            return etcd;
        }
        catch
        {
            await etcd.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The temporary etcd runs under this wrapper, which holds a lifeline: its standard input is a pipe from Lifeboat.
    /// When Lifeboat ends for any reason, SIGKILL included, the kernel closes the pipe; the wrapper reads end of file
    /// and stops etcd, so no replay etcd outlives the restore that started it. Closing the pipe is also how Lifeboat
    /// stops it cleanly. (PR_SET_PDEATHSIG would fire when the thread that started etcd exits, and .NET retires
    /// thread-pool threads at will; a process group dies only when someone signals it.) The wrapper exits with etcd's
    /// status; etcd itself reads nothing from the pipe.
    /// </summary>
    internal const string Lifeline = """
        exec 3<&0 </dev/null
        "$0" "$@" 3<&- &
        child=$!
        ( cat <&3 >/dev/null; kill -TERM "$child" 2>/dev/null ) &
        watcher=$!
        exec 3<&-
        wait "$child"
        status=$?
        kill "$watcher" 2>/dev/null
        exit $status
        """;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["ETCDCTL_API"] = "3";
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string Find(string name, string? explicitPath, string flag)
    {
        if (explicitPath is not null)
        {
            return File.Exists(explicitPath)
                ? explicitPath
                : throw new RestoreRefusedException($"{flag} '{explicitPath}' does not exist", $"point {flag} at the {name} binary");
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw name == "etcd"
            ? new RestoreRefusedException("etcd is not installed, and this command starts it (etcd run, or etcd init --mode full, which proves a directory on a copy)",
                $"apt-get install -y etcd-server (or pass {flag}); etcd init without --mode full and etcd restore do not need it")
            : new RestoreRefusedException($"{name} is not installed, and restore lays out the member directory with it",
                $"apt-get install -y etcd-client (or pass {flag})");
    }

    /// <summary>A temporary etcd: dispose stops it (its lifeline closed, then SIGKILL to what is left).</summary>
    public sealed class TemporaryEtcd(Process process, Uri clientUrl) : IAsyncDisposable
    {
        private readonly StringBuilder _log = new();

        public Uri ClientUrl { get; } = clientUrl;

        public EtcdClient CreateClient() => new(new EtcdClientOptions
        {
            Endpoints = [ClientUrl],
            CommandTimeout = TimeSpan.FromMinutes(2),
            MaxReceiveMessageBytes = int.MaxValue,
        });

        internal async Task WaitReadyAsync(CancellationToken cancellationToken)
        {
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            using var client = CreateClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromMinutes(2));
            var delay = TimeSpan.FromMilliseconds(20);
            while (true)
            {
                if (process.HasExited)
                {
                    throw new RestoreRefusedException($"the temporary etcd exited with {process.ExitCode} before serving: {LastLine()}",
                        "check that the etcd binary matches the snapshot's version");
                }

                try
                {
                    await client.StatusAsync(null, timeout.Token);
                    return;
                }
                catch (EtcdException) when (!timeout.IsCancellationRequested)
                {
                    await Task.Delay(delay, timeout.Token);
                    delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 200));
                }
            }
        }

        /// <summary>Stops etcd cleanly (SIGTERM, from its wrapper once the lifeline closes) so that its database is consistent on disk.</summary>
        public async Task StopAsync(CancellationToken cancellationToken)
        {
            if (process.HasExited)
            {
                return;
            }

            process.StandardInput.Close();

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.StandardInput.Close();
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }

            process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_log)
            {
                if (_log.Length > 64 * 1024)
                {
                    _log.Remove(0, 32 * 1024);
                }

                _log.AppendLine(line);
            }
        }

        private string LastLine()
        {
            lock (_log)
            {
                return _log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
            }
        }
    }
}
