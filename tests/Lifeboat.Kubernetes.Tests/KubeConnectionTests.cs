using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Config;
using Lifeboat.Kubernetes.Models;
using Lifeboat.Testing;
using Lifeboat.Testing.Kube;

namespace Lifeboat.Kubernetes.Tests;

/// <summary>Finding the cluster as kubectl does: kubeconfig files, contexts, credentials, in-cluster.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KubeConnectionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private KubeConnectionOptions Options(string? kubeconfig = null, Dictionary<string, string>? env = null, string? context = null) => new()
    {
        KubeconfigPath = kubeconfig,
        Context = context,
        ServiceAccountDirectory = _dir.Combine("sa"),
        Environment = name => env is not null && env.TryGetValue(name, out var value) ? value : null,
    };

    private string Write(string name, string text)
    {
        var path = _dir.Combine(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Kubeconfig_CurrentContext_GivesServerNamespaceTokenAndRelativeCaFile()
    {
        using var certs = new TestCertificates();
        File.Copy(certs.CaCertFile, _dir.Combine("ca.pem"));
        var path = Write("config", """
            apiVersion: v1
            kind: Config
            current-context: prod
            clusters:
            - name: c1
              cluster: {server: "https://api.example:6443", certificate-authority: ca.pem}
            users:
            - name: u1
              user: {token: "s3cret"}
            contexts:
            - name: prod
              context: {cluster: c1, user: u1, namespace: team-a}
            - name: other
              context: {cluster: c1, user: u1}
            """);

        using var connection = KubeConnection.Load(Options(path));
        using var other = KubeConnection.Load(Options(path, context: "other"));

        Assert.Equal(new Uri("https://api.example:6443"), connection.Server);
        Assert.Equal("team-a", connection.Namespace);
        Assert.Single(connection.Configuration.SslCaCerts!);
        Assert.Equal("s3cret", connection.Configuration.AccessToken);
        Assert.Equal("bearer token (kubeconfig)", connection.Identity);
        Assert.Equal("default", other.Namespace);
    }

    [Fact]
    public void Kubeconfig_ClientCertificateAndCaAsData_Load()
    {
        using var certs = new TestCertificates();
        string B64(string file) => Convert.ToBase64String(File.ReadAllBytes(file));
        var path = Write("config", $"""
            current-context: x
            clusters: [{"{"}name: c, cluster: {"{"}server: "https://10.0.0.1", certificate-authority-data: {B64(certs.CaCertFile)}{"}"}{"}"}]
            users: [{"{"}name: u, user: {"{"}client-certificate-data: {B64(certs.ClientCertFile)}, client-key-data: {B64(certs.ClientKeyFile)}{"}"}{"}"}]
            contexts: [{"{"}name: x, context: {"{"}cluster: c, user: u{"}"}{"}"}]
            """);

        using var connection = KubeConnection.Load(Options(path));

        Assert.NotNull(connection.Configuration.ClientCertificateData);
        Assert.NotNull(connection.Configuration.ClientCertificateKeyData);
        Assert.StartsWith("client certificate", connection.Identity, StringComparison.Ordinal);
    }

    [Fact]
    public void KubeconfigList_IsMerged_FirstDefinitionWins()
    {
        var a = Write("a", """
            current-context: from-a
            clusters: [{name: shared, cluster: {server: "https://a.example"}}]
            contexts: [{name: from-a, context: {cluster: shared}}]
            """);
        var b = Write("b", """
            current-context: from-b
            clusters: [{name: shared, cluster: {server: "https://b.example"}}, {name: only-b, cluster: {server: "https://only-b.example"}}]
            contexts: [{name: from-b, context: {cluster: only-b}}]
            """);

        using var merged = KubeConnection.Load(Options(env: new() { ["KUBECONFIG"] = $"{a}:{_dir.Combine("missing")}:{b}" }));
        using var second = KubeConnection.Load(Options(env: new() { ["KUBECONFIG"] = $"{a}:{b}" }, context: "from-b"));

        Assert.Equal("a.example", merged.Server.Host);
        Assert.Equal("only-b.example", second.Server.Host);
    }

    [Theory]
    [InlineData("current-context: nope\ncontexts: [{name: real, context: {cluster: c}}]", "context 'nope' is not in kubeconfig")]
    [InlineData("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: ftp://x}}]", "has no https:// server URL")]
    [InlineData("current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: 'https://x'}}]\nusers: [{name: u, user: {auth-provider: {name: gcp}}}]", "auth-provider 'gcp'")]
    [InlineData("current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: 'https://x'}}]\nusers: [{name: u, user: {auth-provider: {name: oidc, config: {client-id: a}}}}]", "auth-provider oidc without idp-issuer-url")]
    [InlineData("current-context: [unclosed", "is not valid YAML")]
    public void BrokenKubeconfig_IsOneClearError(string yaml, string expected)
    {
        var path = Write("config", yaml);

        var ex = Assert.Throws<KubeConfigException>(() => KubeConnection.Load(Options(path)));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NothingFound_SaysWhereItLooked()
    {
        var ex = Assert.Throws<KubeConfigException>(() => KubeConnection.Load(Options(env: new() { ["HOME"] = _dir.Path })));
        Assert.Contains("--kubeconfig, KUBECONFIG, ~/.kube/config", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InCluster_UsesTheServiceAccount_AndFollowsTokenRotation()
    {
        using var certs = new TestCertificates();
        // Laid out and rotated as the kubelet projects a service account token: links into a swapped ..data.
        var projected = MountedSecret.Create(_dir.Combine("sa"), new Dictionary<string, string>
        {
            ["token"] = "first",
            ["namespace"] = "kyma-system",
            ["ca.crt"] = File.ReadAllText(certs.CaCertFile),
        });

        using var connection = KubeConnection.Load(Options(env: new() { ["KUBERNETES_SERVICE_HOST"] = "fd00::1", ["KUBERNETES_SERVICE_PORT"] = "443" }));

        Assert.Equal("https://[fd00::1]/", connection.Server.ToString());
        Assert.Equal("kyma-system", connection.Namespace);
        Assert.Equal("first", (await connection.Credentials!.AuthorizationAsync(false, default))!.Parameter);
        projected.Update(new Dictionary<string, string>
        {
            ["token"] = "second",
            ["namespace"] = "kyma-system",
            ["ca.crt"] = File.ReadAllText(certs.CaCertFile),
        });
        Assert.Equal("second", (await connection.Credentials.AuthorizationAsync(false, default))!.Parameter);
    }

    [Fact]
    public async Task ExecPlugin_TokenIsCached_AndRefreshedAfterA401()
    {
        await using var server = await TestApiServer.StartAsync();
        server.AddIdentity("token-1", "exec-user", new RbacRule(["*"], "*", ["*"]));
        var counter = _dir.Combine("runs");
        var plugin = Write("bin/plugin.sh", $$$"""
            #!/bin/sh
            echo x >> {{{counter}}}
            n=$(wc -l < {{{counter}}})
            [ -n "$KUBERNETES_EXEC_INFO" ] || exit 3
            printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"token-%s"}}' "$n"
            """);
        File.SetUnixFileMode(plugin, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = Write("config", $$$$"""
            current-context: x
            clusters: [{name: c, cluster: {server: "{{{{server.Url}}}}"}}]
            users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ./bin/plugin.sh}}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            """);
        using var connection = KubeConnection.Load(Options(path));
        using var client = new KubeClient(connection);

        await client.ListAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", null, default);
        await client.ListAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", null, default);
        Assert.Single(File.ReadAllLines(counter)); // cached

        server.RemoveIdentity("token-1"); // expired: 401 from now on
        server.AddIdentity("token-2", "exec-user", new RbacRule(["*"], "*", ["*"]));
        await client.ListAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", null, default);
        Assert.Equal(2, File.ReadAllLines(counter).Length); // the 401 made it ask the plugin again, once

        server.AddIdentity("token-2", "limited"); // a 403 is not a credentials problem: no new token is asked for
        await Assert.ThrowsAsync<KubeForbiddenException>(() => client.ListAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", null, default));
        Assert.Equal(2, File.ReadAllLines(counter).Length);
    }

    [Fact]
    public async Task OidcAuthProvider_SendsTheIdToken_AndAnExpiredOneWithoutAnIssuerIsAClearError()
    {
        await using var server = await TestApiServer.StartAsync();
        static string Jwt(DateTimeOffset expires) => string.Join('.',
            new[] { """{"alg":"none"}""", $$"""{"sub":"oidc-user","exp":{{expires.ToUnixTimeSeconds()}}}""", "sig" }
                .Select(p => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(p)).TrimEnd('=').Replace('+', '-').Replace('/', '_')));
        var valid = Jwt(DateTimeOffset.UtcNow.AddHours(1));
        server.AddIdentity(valid, "oidc-user", new RbacRule(["list"], "snapshot.storage.k8s.io", ["volumesnapshots"]));
        var issuer = $"http://127.0.0.1:{LoopbackPorts.Next()}/";
        string Config(string idToken) => Write("config-" + Guid.NewGuid().ToString("N"),
            "current-context: x\n"
            + $"clusters: [{{name: c, cluster: {{server: \"{server.Url}\"}}}}]\n"
            + "users: [{name: u, user: {auth-provider: {name: oidc, config: "
            + $"{{client-id: lifeboat, idp-issuer-url: \"{issuer}\", id-token: \"{idToken}\", refresh-token: r1}}}}}}}}]\n"
            + "contexts: [{name: x, context: {cluster: c, user: u}}]\n");

        using var connection = KubeConnection.Load(Options(Config(valid)));
        using var client = new KubeClient(connection);
        var list = await client.ListAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", null, default);
        Assert.Empty(list.Items);
        Assert.StartsWith("OIDC token from http://127.0.0.1:", connection.Identity, StringComparison.Ordinal);

        // Expired, and the issuer cannot be reached to refresh it: one clear error, no stack of HTTP internals.
        using var expired = new KubeClient(KubeConnection.Load(Options(Config(Jwt(DateTimeOffset.UtcNow.AddHours(-1))))));
        var ex = await Assert.ThrowsAsync<KubeException>(() => expired.ListAsync<VolumeSnapshot>(KubeResource.VolumeSnapshots, "default", null, default));
        Assert.Contains("cannot authenticate", ex.Message, StringComparison.Ordinal);
        Assert.Contains("OIDC", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecPlugin_Failing_IsOneLineWithItsError()
    {
        var plugin = Write("plugin.sh", "#!/bin/sh\necho 'please run login first' >&2\nexit 4\n");
        File.SetUnixFileMode(plugin, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var credentials = new ExecCredentials(new ExecConfig { ApiVersion = "client.authentication.k8s.io/v1beta1", Command = plugin }, null);

        var ex = await Assert.ThrowsAsync<KubeConfigException>(async () => await credentials.AuthorizationAsync(false, default));
        Assert.Contains("failed (exit 4): please run login first", ex.Message, StringComparison.Ordinal);
        credentials.Dispose();
    }
}
