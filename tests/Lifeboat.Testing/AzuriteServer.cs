using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Azure.Storage;
using Azure.Storage.Blobs;
using Lifeboat.Storage.Azure;

namespace Lifeboat.Testing;

/// <summary>
/// Microsoft's Azure Storage emulator, Azurite (npm, installed by scripts/install-deps.sh), serving Blob Storage on a
/// random loopback port with its own data directory and one container. Started with <c>--disableTelemetry</c>.
/// Fails loudly when it is not installed: tests never skip.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    /// <summary>Azurite's one account and its published development key.</summary>
    public const string Account = "devstoreaccount1";

    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public const string Container = "lifeboat";

    private readonly TempDirectory _dir;
    private readonly StringBuilder _log = new();
    private Process? _process;

    private AzuriteServer(TempDirectory dir, int port)
    {
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The blob service URL (path-style, as Azurite serves it).</summary>
    public Uri ServiceUri => new($"http://127.0.0.1:{Port}/{Account}");

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={AccountKey};BlobEndpoint={ServiceUri};";

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

    /// <summary>Azurite's blob entry script: <c>LIFEBOAT_AZURITE</c>, else the copy install-deps puts in the repository.</summary>
    public static string Script
    {
        get
        {
            if (Environment.GetEnvironmentVariable("LIFEBOAT_AZURITE") is { Length: > 0 } configured)
            {
                return configured;
            }

            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, ".lifeboat", "tools", "node_modules", "azurite", "dist", "src", "blob", "main.js");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new InvalidOperationException("azurite is not installed: run scripts/install-deps.sh (it installs azurite 3.35.0 from npm into .lifeboat/tools)");
        }
    }

    /// <param name="containers">Containers to create besides <see cref="Container"/>.</param>
    public static async Task<AzuriteServer> StartAsync(params string[] containers)
    {
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var server = new AzuriteServer(new TempDirectory("lifeboat-azurite"), LoopbackPorts.Next());
            try
            {
                await server.StartProcessAsync();
                foreach (var name in containers.Append(Container))
                {
                    await new BlobContainerClient(server.ConnectionString, name).CreateIfNotExistsAsync();
                }

                return server;
            }
            catch (Exception ex) when (attempt < 2)
            {
                last = ex; // most likely the port was taken between probing and binding
                await server.DisposeAsync();
            }
        }

        throw new InvalidOperationException("azurite did not start", last);
    }

    /// <summary>Options for a store in this server's container under <paramref name="prefix"/>, with the account key.</summary>
    public AzureBlobStoreOptions StoreOptions(string prefix) => new()
    {
        ServiceUri = ServiceUri,
        Container = Container,
        Prefix = prefix,
        SharedKey = new StorageSharedKeyCredential(Account, AccountKey),
        BlockSize = AzureBlobStoreOptions.MinimumBlockSize, // small objects exercise staged blocks
        Parallelism = 3,
        MaxRetries = 1,
        NetworkTimeout = TimeSpan.FromSeconds(20),
    };

    /// <summary>Stops the server at once (SIGKILL), as a crash or a network cut would.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync(CancellationToken.None);
        }
    }

    private async Task StartProcessAsync()
    {
        _process?.Dispose();
        var data = _dir.Combine("data");
        Directory.CreateDirectory(data);
        var psi = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     Script, "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(CultureInfo.InvariantCulture), "--location", data,
                     "--disableTelemetry", "--skipApiVersionCheck", "--silent",
                 })
        {
            psi.ArgumentList.Add(arg);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("node did not start");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await Eventually.SucceedsAsync(async ct =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"azurite exited with {process.ExitCode}: {Log}");
            }

            using var tcp = new TcpClient();
            await tcp.ConnectAsync(System.Net.IPAddress.Loopback, Port, ct);
            return true;
        }, TimeSpan.FromSeconds(30), "azurite start-up");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        _dir.Dispose();
    }
}
