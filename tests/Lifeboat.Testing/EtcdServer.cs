using System.Diagnostics;
using System.Text;
using Lifeboat.Etcd;
using Lifeboat.Etcd.Client;

namespace Lifeboat.Testing;

/// <summary>
/// A real etcd (Debian's etcd-server) on random loopback ports with its own temporary data directory. Fails loudly
/// when etcd is not installed or does not start: tests never skip because a server is missing.
/// </summary>
public sealed class EtcdServer : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private readonly StringBuilder _log = new();
    private Process _process;

    private EtcdServer(TempDirectory dir, Process process, Uri clientUrl, string dataDir, string name)
    {
        _dir = dir;
        _process = process;
        ClientUrl = clientUrl;
        DataDir = dataDir;
        Name = name;
    }

    public Uri ClientUrl { get; }

    /// <summary>A plain http client URL beside the TLS one, when started with plainPort.</summary>
    public Uri? PlainClientUrl { get; private init; }

    public string DataDir { get; }

    public string Name { get; }

    /// <summary>What etcd printed so far, for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static string EtcdBinary => Tool("etcd");

    public static string EtcdctlBinary => Tool("etcdctl");

    /// <summary>Starts etcd; <paramref name="tls"/> serves the client port over TLS with client-certificate authentication.</summary>
    /// <param name="plainPort">With <paramref name="tls"/>: also serve plain http on this port (<see cref="PlainClientUrl"/>).</param>
    public static async Task<EtcdServer> StartAsync(TestCertificates? tls = null, string? dataDir = null, IEnumerable<string>? extraArgs = null,
        bool plainPort = false)
    {
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var dir = new TempDirectory("lifeboat-etcd");
            try
            {
                return await StartOnceAsync(dir, tls, dataDir ?? dir.Combine("data"), extraArgs ?? [], plainPort: plainPort);
            }
            catch (Exception ex) when (attempt < 2)
            {
                last = ex; // most likely a port taken between probing and binding
                dir.Dispose();
            }
        }

        throw new InvalidOperationException("etcd did not start", last);
    }

    /// <summary>Starts one member of a cluster whose ports the caller chose (see EtcdCluster).</summary>
    /// <param name="dataDir">An existing data directory to start on (default: a new one).</param>
    public static async Task<EtcdServer> StartMemberAsync(string name, int clientPort, int peerPort, string initialCluster, string token,
        string? dataDir = null)
    {
        var dir = new TempDirectory("lifeboat-etcd");
        try
        {
            return await StartOnceAsync(dir, null, dataDir ?? dir.Combine("data"), [], (name, clientPort, peerPort, initialCluster, token));
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    private static async Task<EtcdServer> StartOnceAsync(TempDirectory dir, TestCertificates? tls, string dataDir, IEnumerable<string> extraArgs,
        (string Name, int ClientPort, int PeerPort, string InitialCluster, string Token)? member = null, bool plainPort = false)
    {
        var plainUrl = plainPort && tls is not null ? new Uri($"http://127.0.0.1:{LoopbackPorts.Next()}") : null;
        var clientPort = member?.ClientPort ?? LoopbackPorts.Next();
        var peerPort = member?.PeerPort ?? LoopbackPorts.Next();
        var scheme = tls is null ? "http" : "https";
        var clientUrl = new Uri($"{scheme}://127.0.0.1:{clientPort}");
        var peerUrl = $"http://127.0.0.1:{peerPort}";
        var name = member?.Name ?? "lifeboat-test";
        var psi = new ProcessStartInfo(EtcdBinary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--name", name, "--data-dir", dataDir,
                     "--listen-client-urls", clientUrl.ToString().TrimEnd('/') + (plainUrl is null ? "" : "," + plainUrl.ToString().TrimEnd('/')),
                     "--advertise-client-urls", clientUrl.ToString().TrimEnd('/'),
                     "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl,
                     "--initial-cluster", member?.InitialCluster ?? $"{name}={peerUrl}", "--initial-cluster-token", member?.Token ?? $"t-{Guid.NewGuid():N}",
                     "--logger", "zap", "--log-outputs", "stderr",
                 }.Concat(tls is null ? [] :
                 [
                     "--cert-file", tls.ServerCertFile, "--key-file", tls.ServerKeyFile,
                     "--client-cert-auth", "--trusted-ca-file", tls.CaCertFile,
                 ]).Concat(extraArgs))
        {
            psi.ArgumentList.Add(arg);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("etcd did not start");
        var server = new EtcdServer(dir, process, clientUrl, dataDir, name) { _startInfo = psi, _tls = tls, PlainClientUrl = plainUrl };
        try
        {
            await server.AttachAndWaitAsync();
            return server;
        }
        catch (Exception ex)
        {
            var log = server.Log;
            await server.DisposeAsync();
            throw new InvalidOperationException($"etcd did not become ready: {ex.Message}\n{log}", ex);
        }
    }

    private ProcessStartInfo? _startInfo;
    private TestCertificates? _tls;

    private async Task AttachAndWaitAsync()
    {
        var process = _process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var client = CreateClient(_tls);
        await Eventually.SucceedsAsync(async ct =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"etcd exited with {process.ExitCode}");
            }

            return await client.StatusAsync(null, ct);
        }, TimeSpan.FromSeconds(30), "etcd start-up");
    }

    /// <summary>Stops etcd (SIGTERM) and starts it again on the same ports and data directory, as a crash-restart would.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        _process.Dispose();
        _process = Process.Start(_startInfo!) ?? throw new InvalidOperationException("etcd did not restart");
        await AttachAndWaitAsync();
    }

    public EtcdClient CreateClient(TestCertificates? tls = null, TimeSpan? commandTimeout = null) =>
        new(new EtcdClientOptions
        {
            Endpoints = [ClientUrl],
            CaCertificateFile = tls?.CaCertFile,
            ClientCertificateFile = tls?.ClientCertFile,
            ClientKeyFile = tls?.ClientKeyFile,
            CommandTimeout = commandTimeout ?? TimeSpan.FromSeconds(30),
        });

    /// <summary>Stops etcd: SIGTERM, then SIGKILL if it does not exit.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await term!.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }
    }

    /// <summary>Kills etcd (SIGKILL, no chance to sync or say goodbye) and starts it again on the same ports and data directory.</summary>
    public async Task CrashRestartAsync()
    {
        await KillAsync();
        _process.Dispose();
        _process = Process.Start(_startInfo!) ?? throw new InvalidOperationException("etcd did not restart");
        await AttachAndWaitAsync();
    }

    /// <summary>Kills etcd at once, as a crash would.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
        _dir.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            if (_log.Length < 1_000_000)
            {
                _log.AppendLine(line);
            }
        }
    }

    private static string Tool(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Append("/usr/bin"))
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new InvalidOperationException(
            $"{name} is not installed: run ./test.sh (it installs Debian's etcd-server and etcd-client) or apt-get install -y etcd-server etcd-client");
    }
}
