namespace Lifeboat.Etcd;

/// <summary>How to reach etcd. Flag names follow etcdctl's (<c>--endpoints</c>, <c>--cacert</c>, <c>--cert</c>, <c>--key</c>).</summary>
public sealed record EtcdClientOptions
{
    /// <summary>Client URLs, <c>http://</c> or <c>https://</c>; tried in order, failing over on connection errors.</summary>
    public required IReadOnlyList<Uri> Endpoints { get; init; }

    /// <summary>PEM file with the CA certificates that sign etcd's server certificate; null trusts the system store.</summary>
    public string? CaCertificateFile { get; init; }

    /// <summary>PEM client certificate for etcd's <c>--client-cert-auth</c>; needs <see cref="ClientKeyFile"/>.</summary>
    public string? ClientCertificateFile { get; init; }

    /// <summary>PEM private key of <see cref="ClientCertificateFile"/>.</summary>
    public string? ClientKeyFile { get; init; }

    /// <summary>etcd user for user/password authentication (etcdctl's <c>--user</c>); null for none.</summary>
    public string? Username { get; init; }

    /// <summary>The user's password; set with <see cref="Username"/>.</summary>
    public string? Password { get; init; }

    /// <summary>Time to establish a connection (TCP and TLS) to one endpoint.</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Deadline of ordinary unary calls (not of streams such as Snapshot and Watch).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Interval of HTTP/2 keepalive pings on idle-looking connections. etcd closes connections that ping more often
    /// than every 5 s (its default <c>--grpc-keepalive-min-time</c>), so smaller values are refused.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest single message accepted from etcd; Range and Watch responses can be hundreds of MB.</summary>
    public int MaxReceiveMessageBytes { get; init; } = 512 * 1024 * 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting that is wrong and how to fix it.</summary>
    public void Validate()
    {
        if (Endpoints is null || Endpoints.Count == 0)
        {
            throw new ArgumentException("no etcd endpoint given: pass --endpoints http://127.0.0.1:2379");
        }

        foreach (var e in Endpoints)
        {
            if (!e.IsAbsoluteUri || e.Scheme is not ("http" or "https") || string.IsNullOrEmpty(e.Host))
            {
                throw new ArgumentException($"endpoint '{e}' is not an http:// or https:// URL: write it as http://HOST:PORT or https://HOST:PORT");
            }

            if (e.AbsolutePath != "/" || !string.IsNullOrEmpty(e.Query))
            {
                throw new ArgumentException($"endpoint '{e}' has a path; etcd client URLs are just scheme, host and port");
            }
        }

        if ((Username is null) != (Password is null))
        {
            throw new ArgumentException("--user and --password-file go together: etcd authenticates a user with its password");
        }

        if ((ClientCertificateFile is null) != (ClientKeyFile is null))
        {
            throw new ArgumentException("--cert and --key go together: a client certificate needs its private key");
        }

        foreach (var (flag, file) in new[] { ("--cacert", CaCertificateFile), ("--cert", ClientCertificateFile), ("--key", ClientKeyFile) })
        {
            if (file is not null && !File.Exists(file))
            {
                throw new ArgumentException($"{flag} file '{file}' does not exist");
            }
        }

        if (KeepAliveInterval < TimeSpan.FromSeconds(5))
        {
            throw new ArgumentException("keepalive interval below 5 s: etcd closes connections that ping more often");
        }

        if (MaxReceiveMessageBytes < 4 * 1024 * 1024)
        {
            throw new ArgumentException("receive limit below 4 MiB: etcd's own responses can be larger");
        }
    }

    /// <summary>
    /// Parses the comma-separated <c>--endpoints</c>. Each needs its scheme: etcdctl reads a bare <c>host:port</c> as plain
    /// HTTP, which against a TLS port fails as an unexplained handshake error, so Lifeboat asks which one is meant.
    /// </summary>
    public static IReadOnlyList<Uri> ParseEndpoints(string endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var result = new List<Uri>();
        foreach (var raw in endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!raw.Contains("://", StringComparison.Ordinal))
            {
                throw new ArgumentException($"endpoint '{raw}' has no scheme: write it as http://{raw} or https://{raw}");
            }

            if (!Uri.TryCreate(raw, UriKind.Absolute, out var uri))
            {
                throw new ArgumentException($"endpoint '{raw}' is not a URL: write it as http://HOST:PORT or https://HOST:PORT");
            }

            result.Add(uri);
        }

        return result;
    }
}
