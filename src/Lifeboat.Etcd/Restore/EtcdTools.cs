using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Lifeboat.Etcd.Client;

namespace Lifeboat.Etcd.Restore;

/// <summary>
/// Debian's etcd, for what has to run it: <c>etcd run</c>, and <c>etcd init --mode full</c>, which proves a data
/// directory by starting etcd on a copy, on random loopback ports. Restore, compaction and init's restore need no etcd
/// binary at all (<see cref="MemberLayout"/>, <see cref="RestoredDatabase"/>).
/// </summary>
public sealed class EtcdTools(string etcdBinary)
{
    public string EtcdBinary { get; } = etcdBinary;

    /// <summary>Finds <c>etcd</c> (an explicit path first, then PATH).</summary>
    /// <exception cref="RestoreRefusedException">It is missing.</exception>
    public static EtcdTools Locate(string? etcd = null) => new(Find("etcd", etcd, "--etcd-binary"));

    /// <summary>Whether <c>etcd</c> is on PATH.</summary>
    public static bool IsInstalled => Search("etcd") is not null;

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

    private static string Find(string name, string? explicitPath, string flag)
    {
        if (explicitPath is not null)
        {
            return File.Exists(explicitPath)
                ? explicitPath
                : throw new RestoreRefusedException($"{flag} '{explicitPath}' does not exist", $"point {flag} at the {name} binary");
        }

        if (Search(name) is { } found)
        {
            return found;
        }

        throw new RestoreRefusedException("etcd is not installed, and this command starts it (etcd run, or etcd init --mode full, which proves a directory on a copy)",
            $"apt-get install -y etcd-server (or pass {flag}); etcd init without --mode full, etcd restore and snapshot compact do not need it");
    }

    private static string? Search(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

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
