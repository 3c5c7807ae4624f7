using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Authentication;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Lifeboat.Kubernetes.Config;

/// <summary>Where to look for the cluster: the flags kubectl has for it, and the environment.</summary>
public sealed record KubeConnectionOptions
{
    /// <summary><c>--kubeconfig</c>: this file only; it must exist.</summary>
    public string? KubeconfigPath { get; init; }

    /// <summary><c>--context</c>; else the kubeconfig's current-context.</summary>
    public string? Context { get; init; }

    /// <summary><c>-n</c>; else the context's namespace, else the service account's, else <c>default</c>.</summary>
    public string? Namespace { get; init; }

    /// <summary>Where a pod's service account is mounted.</summary>
    public string ServiceAccountDirectory { get; init; } = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>Reads environment variables (KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST/PORT); replaceable in tests.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;
}

/// <summary>
/// Everything needed to talk to one API server, resolved from a kubeconfig (contexts, namespaces, client
/// certificates, bearer tokens and token files, CA data or files, exec plugins, OIDC) or from a pod's service account,
/// in kubectl's order: <c>--kubeconfig</c>, then <c>KUBECONFIG</c> (files merged, the first definition of a name wins,
/// missing files skipped), then <c>~/.kube/config</c>, then in-cluster. The result is a KubernetesClient
/// <see cref="KubernetesClientConfiguration"/>: TLS, client certificates and applying the credentials are the library's.
/// </summary>
/// <remarks>
/// The kubeconfig is read here, not by <c>KubernetesClientConfiguration.BuildConfigFromConfigFile</c>: the library's
/// loader stops at a missing file in <c>KUBECONFIG</c> (kubectl skips it), resolves every merged file's relative paths
/// against the first file's directory, matches context names case-insensitively, drops <c>tokenFile</c>, and runs exec
/// plugins while loading. Reading it is a small YAML model; everything after that is the library's.
/// </remarks>
public sealed class KubeConnection : IDisposable
{
    public required Uri Server { get; init; }

    public string Namespace { get; init; } = "default";

    /// <summary>What KubernetesClient connects with.</summary>
    public required KubernetesClientConfiguration Configuration { get; init; }

    /// <summary>
    /// A KubernetesClient API client on this connection, whose requests each end after <paramref name="requestTimeout"/>
    /// (watches excepted). The library reads its configuration once, when the client is built.
    /// </summary>
    internal k8s.Kubernetes CreateApi(TimeSpan requestTimeout)
    {
        lock (Configuration)
        {
            Configuration.HttpClientTimeout = requestTimeout;
            Configuration.FirstMessageHandlerSetup = static handler =>
            {
                handler.ConnectTimeout = TimeSpan.FromSeconds(10);
                handler.PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2);
            };
            return new k8s.Kubernetes(Configuration);
        }
    }

    /// <summary>Tokens Lifeboat obtains itself (token file, exec plugin), asked afresh after a 401; null otherwise.</summary>
    public KubeCredentials? Credentials { get; init; }

    /// <summary>Where this came from, for messages: a context and file, or the in-cluster service account.</summary>
    public required string Source { get; init; }

    /// <summary>Who we are, for messages; never a secret.</summary>
    public required string Identity { get; init; }

    /// <exception cref="KubeConfigException">Nothing usable was found, or what was found is broken; the message says which.</exception>
    public static KubeConnection Load(KubeConnectionOptions? options = null)
    {
        options ??= new KubeConnectionOptions();
        var env = options.Environment;
        var files = new List<string>();
        if (options.KubeconfigPath is { Length: > 0 } explicitPath)
        {
            if (!File.Exists(explicitPath))
            {
                throw new KubeConfigException($"--kubeconfig {explicitPath} does not exist", "give the path of a kubeconfig file");
            }

            files.Add(explicitPath);
        }
        else if (env("KUBECONFIG") is { Length: > 0 } list)
        {
            files.AddRange(list.Split(':', StringSplitOptions.RemoveEmptyEntries).Where(File.Exists));
        }
        else if (env("HOME") is { Length: > 0 } home && Path.Combine(home, ".kube", "config") is var defaultPath && File.Exists(defaultPath))
        {
            files.Add(defaultPath);
        }

        if (files.Count > 0)
        {
            return FromKubeconfig(Merge(files.Select(Parse)), options, string.Join(":", files));
        }

        if (env("KUBERNETES_SERVICE_HOST") is { Length: > 0 } host && File.Exists(Path.Combine(options.ServiceAccountDirectory, "token")))
        {
            return InCluster(host, env("KUBERNETES_SERVICE_PORT"), options);
        }

        throw new KubeConfigException("no kubeconfig found (--kubeconfig, KUBECONFIG, ~/.kube/config) and not running in a pod",
            "pass --kubeconfig, or run inside the cluster with a service account");
    }

    /// <summary>Reads one kubeconfig file.</summary>
    public static KubeConfigFile Parse(string path)
    {
        try
        {
            var deserializer = new DeserializerBuilder().IgnoreUnmatchedProperties().Build();
            var config = deserializer.Deserialize<KubeConfigFile>(File.ReadAllText(path)) ?? new KubeConfigFile();
            config.Directory = Path.GetDirectoryName(Path.GetFullPath(path));
            foreach (var cluster in config.Clusters ?? [])
            {
                cluster.Directory = config.Directory;
            }

            foreach (var user in config.Users ?? [])
            {
                user.Directory = config.Directory;
            }

            return config;
        }
        catch (YamlException ex)
        {
            throw new KubeConfigException($"kubeconfig {path} is not valid YAML (line {ex.Start.Line}): {ex.InnerException?.Message ?? ex.Message}",
                "fix the file, or point --kubeconfig at another", ex);
        }
        catch (IOException ex)
        {
            throw new KubeConfigException($"cannot read kubeconfig {path}: {ex.Message}", null, ex);
        }
    }

    /// <summary>Merges kubeconfig files as kubectl does: the first file to define a name (or current-context) wins.</summary>
    public static KubeConfigFile Merge(IEnumerable<KubeConfigFile> files)
    {
        var merged = new KubeConfigFile { Clusters = [], Users = [], Contexts = [] };
        foreach (var file in files)
        {
            merged.CurrentContext ??= string.IsNullOrEmpty(file.CurrentContext) ? null : file.CurrentContext;
            merged.Directory ??= file.Directory;
            merged.Clusters.AddRange((file.Clusters ?? []).Where(c => merged.Clusters.All(m => m.Name != c.Name)));
            merged.Users.AddRange((file.Users ?? []).Where(u => merged.Users.All(m => m.Name != u.Name)));
            merged.Contexts.AddRange((file.Contexts ?? []).Where(c => merged.Contexts.All(m => m.Name != c.Name)));
        }

        return merged;
    }

    private static KubeConnection FromKubeconfig(KubeConfigFile config, KubeConnectionOptions options, string where)
    {
        var contextName = options.Context ?? config.CurrentContext
            ?? throw new KubeConfigException($"kubeconfig {where} has no current-context", "pass --context NAME");
        var context = config.Contexts!.FirstOrDefault(c => c.Name == contextName)?.Context
            ?? throw new KubeConfigException($"context '{contextName}' is not in kubeconfig {where} (it has: {Names(config.Contexts!.Select(c => c.Name))})",
                "pass --context with one of those");
        var cluster = config.Clusters!.FirstOrDefault(c => c.Name == context.Cluster)
            ?? throw new KubeConfigException($"context '{contextName}' names cluster '{context.Cluster}', which is not in kubeconfig {where}", null);
        var user = context.User is { Length: > 0 } userName
            ? config.Users!.FirstOrDefault(u => u.Name == userName)
              ?? throw new KubeConfigException($"context '{contextName}' names user '{userName}', which is not in kubeconfig {where}", null)
            : null;
        var server = cluster.Cluster?.Server;
        if (server is null || !Uri.TryCreate(server, UriKind.Absolute, out var serverUri) || serverUri.Scheme is not ("https" or "http"))
        {
            throw new KubeConfigException($"cluster '{cluster.Name}' has no https:// server URL ({server ?? "none"})", "set clusters[].cluster.server");
        }

        var configuration = new KubernetesClientConfiguration
        {
            Host = serverUri.ToString(),
            SslCaCerts = LoadCas(cluster.Cluster!.CertificateAuthorityData, Resolve(cluster.Cluster.CertificateAuthority, cluster.Directory), $"cluster '{cluster.Name}'"),
            SkipTlsVerify = cluster.Cluster.InsecureSkipTlsVerify,
            TlsServerName = cluster.Cluster.TlsServerName,
        };
        var (identity, credentials) = user?.User is { } u ? LoadUser(user.Name!, u, user.Directory, configuration) : ("anonymous", null);
        configuration.Namespace = options.Namespace ?? (context.Namespace is { Length: > 0 } ns ? ns : "default");
        return new KubeConnection
        {
            Server = serverUri,
            Namespace = configuration.Namespace,
            Configuration = configuration,
            Credentials = credentials,
            Identity = identity,
            Source = $"context '{contextName}' in {where}",
        };
    }

    private static KubeConnection InCluster(string host, string? port, KubeConnectionOptions options)
    {
        var dir = options.ServiceAccountDirectory;
        var authority = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host; // IPv6 service address
        var namespaceFile = Path.Combine(dir, "namespace");
        var server = new Uri($"https://{authority}:{(port is { Length: > 0 } ? port : "443")}");
        var ns = options.Namespace ?? (File.Exists(namespaceFile) ? File.ReadAllText(namespaceFile).Trim() : "default");
        var token = new TokenFileCredentials(Path.Combine(dir, "token"));
        return new KubeConnection
        {
            Server = server,
            Namespace = ns,
            Configuration = new KubernetesClientConfiguration
            {
                Host = server.ToString(),
                Namespace = ns,
                SslCaCerts = LoadCas(null, Path.Combine(dir, "ca.crt"), "the service account"),
                TokenProvider = token,
            },
            Credentials = token,
            Identity = token.Describe(),
            Source = $"in-cluster service account ({dir})",
        };
    }

    /// <summary>Puts the user's credentials into <paramref name="configuration"/>; returns who that is and any token Lifeboat renews.</summary>
    private static (string Identity, KubeCredentials? Credentials) LoadUser(string name, UserConfig user, string? directory,
        KubernetesClientConfiguration configuration)
    {
        var identity = "anonymous";
        var certPem = user.ClientCertificateData is { } certData ? Decode(certData, $"user '{name}' client-certificate-data")
            : ReadText(Resolve(user.ClientCertificate, directory), $"user '{name}' client-certificate");
        var keyPem = user.ClientKeyData is { } keyData ? Decode(keyData, $"user '{name}' client-key-data")
            : ReadText(Resolve(user.ClientKey, directory), $"user '{name}' client-key");
        if (certPem is not null || keyPem is not null)
        {
            if (certPem is null || keyPem is null)
            {
                throw new KubeConfigException($"user '{name}' has a client certificate without its key, or a key without its certificate", null);
            }

            try
            {
                // Loaded here only to refuse a broken pair before any request, and to name the identity.
                using var certificate = X509Certificate2.CreateFromPem(certPem, keyPem);
                identity = $"client certificate {certificate.GetNameInfo(X509NameType.SimpleName, false)}";
            }
            catch (CryptographicException ex)
            {
                throw new KubeConfigException($"user '{name}' client certificate and key do not load: {ex.Message}", null, ex);
            }

            configuration.ClientCertificateData = Convert.ToBase64String(Encoding.UTF8.GetBytes(certPem));
            configuration.ClientCertificateKeyData = Convert.ToBase64String(Encoding.UTF8.GetBytes(keyPem));
        }

        KubeCredentials? credentials = null;
        if (user.Token is { Length: > 0 } token)
        {
            configuration.AccessToken = token;
            identity = certPem is null ? "bearer token (kubeconfig)" : identity;
        }
        else if (Resolve(user.TokenFile, directory) is { } tokenFile)
        {
            credentials = new TokenFileCredentials(tokenFile);
        }
        else if (user.Exec is { } exec)
        {
            credentials = new ExecCredentials(exec, directory);
        }
        else if (user.Username is { Length: > 0 } username)
        {
            configuration.Username = username;
            configuration.Password = user.Password ?? "";
            identity = certPem is null ? $"basic authentication as {username}" : identity;
        }
        else if (user.AuthProvider is { } provider)
        {
            var providerName = provider.TryGetValue("name", out var n) ? n as string : null;
            var settings = provider.TryGetValue("config", out var c) && c is IDictionary<object, object> d
                ? d.ToDictionary(e => e.Key.ToString() ?? "", e => e.Value?.ToString() ?? "", StringComparer.Ordinal)
                : [];
            if (providerName != "oidc")
            {
                throw new KubeConfigException($"user '{name}' uses auth-provider '{providerName ?? "?"}', which was removed from Kubernetes",
                    "use the provider's exec plugin (e.g. gke-gcloud-auth-plugin, kubelogin)");
            }

            string Setting(string key) => settings.TryGetValue(key, out var value) && value.Length > 0 ? value
                : throw new KubeConfigException($"user '{name}' uses auth-provider oidc without {key}", "log in again with your OIDC tool so that it writes the tokens");

            // The library refreshes the ID token with the refresh token when it expires.
            configuration.TokenProvider = new OidcTokenProvider(Setting("client-id"), settings.GetValueOrDefault("client-secret", ""),
                Setting("idp-issuer-url"), Setting("id-token"), Setting("refresh-token"));
            identity = certPem is null ? $"OIDC token from {settings["idp-issuer-url"]}" : identity;
        }

        if (credentials is not null)
        {
            configuration.TokenProvider = credentials;
            identity = certPem is null ? credentials.Describe() : identity;
        }

        return (identity, credentials);
    }

    private static X509Certificate2Collection? LoadCas(string? data, string? file, string owner)
    {
        var pem = data is not null ? Decode(data, $"{owner} certificate-authority-data") : ReadText(file, $"{owner} certificate-authority");
        if (pem is null)
        {
            return null;
        }

        var cas = new X509Certificate2Collection();
        try
        {
            cas.ImportFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new KubeConfigException($"{owner} certificate authority is not PEM: {ex.Message}", null, ex);
        }

        return cas.Count > 0 ? cas : throw new KubeConfigException($"{owner} certificate authority holds no certificate", null);
    }

    private static string? Resolve(string? path, string? directory) =>
        string.IsNullOrEmpty(path) ? null : Path.IsPathRooted(path) || directory is null ? path : Path.Combine(directory, path);

    private static string? ReadText(string? path, string what)
    {
        if (path is null)
        {
            return null;
        }

        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KubeConfigException($"{what} {path} cannot be read: {ex.Message}", null, ex);
        }
    }

    private static string Decode(string base64, string what)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(base64));
        }
        catch (FormatException ex)
        {
            throw new KubeConfigException($"{what} is not base64", null, ex);
        }
    }

    private static string Names(IEnumerable<string?> names) => string.Join(", ", names.Where(n => n is not null).DefaultIfEmpty("none"));

    public void Dispose()
    {
        Credentials?.Dispose();
        foreach (var ca in Configuration.SslCaCerts ?? [])
        {
            ca.Dispose();
        }
    }
}
