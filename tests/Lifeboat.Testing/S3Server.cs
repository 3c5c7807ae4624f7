using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Amazon.Runtime;
using Lifeboat.Storage.S3;

namespace Lifeboat.Testing;

/// <summary>
/// A real S3 protocol server (s3rver from npm, installed by scripts/install-deps.sh) on a random loopback port with
/// its own data directory and one bucket. Fails loudly when it is not installed: tests never skip.
/// </summary>
public sealed class S3Server : IAsyncDisposable
{
    /// <summary>The only credentials s3rver accepts.</summary>
    public const string AccessKey = "S3RVER";

    public const string SecretKey = "S3RVER";

    public const string Bucket = "lifeboat";

    private readonly TempDirectory _dir;
    private readonly StringBuilder _log = new();
    private Process? _process;

    private S3Server(TempDirectory dir, int port)
    {
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    public Uri Endpoint => new($"http://127.0.0.1:{Port}");

    /// <summary>Where s3rver keeps the bucket's objects, so tests can damage one.</summary>
    public string DataDir => _dir.Combine("data");

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

    /// <summary>The s3rver entry script: <c>LIFEBOAT_S3RVER</c>, else the copy install-deps puts in the repository.</summary>
    public static string Script
    {
        get
        {
            if (Environment.GetEnvironmentVariable("LIFEBOAT_S3RVER") is { Length: > 0 } configured)
            {
                return configured;
            }

            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, ".lifeboat", "tools", "node_modules", "s3rver", "bin", "s3rver.js");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new InvalidOperationException("s3rver is not installed: run scripts/install-deps.sh (it installs s3rver 3.7.1 from npm into .lifeboat/tools)");
        }
    }

    /// <param name="moreBuckets">Buckets to create besides <see cref="Bucket"/> (the docs' examples name their own).</param>
    public static async Task<S3Server> StartAsync(params string[] moreBuckets)
    {
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var server = new S3Server(new TempDirectory("lifeboat-s3"), LoopbackPorts.Next()) { _buckets = [Bucket, .. moreBuckets] };
            try
            {
                await server.StartProcessAsync();
                return server;
            }
            catch (Exception ex) when (attempt < 2)
            {
                last = ex; // most likely the port was taken between probing and binding
                await server.DisposeAsync();
            }
        }

        throw new InvalidOperationException("s3rver did not start", last);
    }

    /// <summary>Options for a store in this server's bucket under <paramref name="prefix"/>.</summary>
    public S3StoreOptions StoreOptions(string prefix, AWSCredentials? credentials = null) => new()
    {
        Bucket = Bucket,
        Prefix = prefix,
        Endpoint = Endpoint,
        Region = "us-east-1",
        ForcePathStyle = true,
        Credentials = credentials ?? new BasicAWSCredentials(AccessKey, SecretKey),
        PartSize = 256 << 10, // s3rver does not enforce S3's 5 MiB minimum, so small objects exercise multipart
        Parallelism = 3,
        MaxRetries = 2,
        RequestTimeout = TimeSpan.FromSeconds(20),
    };

    /// <summary>The file in which s3rver keeps an object's bytes.</summary>
    public string ObjectFile(string fullKey) => Path.Combine(DataDir, Bucket, fullKey + "._S3rver_object");

    /// <summary>Stops the server at once (SIGKILL), as a crash or a network cut would.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync(CancellationToken.None);
        }
    }

    /// <summary>Starts the server again on the same port and data.</summary>
    public Task RestartAsync() => StartProcessAsync();

    private string[] _buckets = [Bucket];

    private async Task StartProcessAsync()
    {
        _process?.Dispose();
        Directory.CreateDirectory(DataDir);
        var psi = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // List paging computes MD5-based markers that Node 20's OpenSSL 3 refuses without the legacy provider.
        foreach (var arg in new[]
                 {
                     "--openssl-legacy-provider", Script, "-d", DataDir, "-a", "127.0.0.1",
                     "-p", Port.ToString(CultureInfo.InvariantCulture), "--silent",
                 }.Concat(_buckets.SelectMany(b => new[] { "--configure-bucket", b })))
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
                throw new InvalidOperationException($"s3rver exited with {process.ExitCode}: {Log}");
            }

            using var tcp = new TcpClient();
            await tcp.ConnectAsync(System.Net.IPAddress.Loopback, Port, ct);
            return true;
        }, TimeSpan.FromSeconds(30), "s3rver start-up");
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
            if (Environment.GetEnvironmentVariable("LIFEBOAT_S3RVER_LOG") is { Length: > 0 } file)
            {
                File.AppendAllText(file, line + Environment.NewLine);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        _dir.Dispose();
    }
}
