using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Config;
using Lifeboat.Kubernetes.Models;
using Lifeboat.Testing;
using Lifeboat.Testing.Kube;

namespace Lifeboat.Kubernetes.Tests;

/// <summary>The client over TLS, as against a real API server: the kubeconfig's CA, a client certificate as the identity.</summary>
public sealed class KubeTlsTests : IAsyncLifetime
{
    private readonly TestCertificates _pki = new();
    private readonly TempDirectory _dir = new();
    private TestApiServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TestApiServer.StartAsync(tls: _pki);
        _server.AddIdentity("cert:root", "root", new RbacRule(["get", "list"], "", ["namespaces"]));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _dir.Dispose();
        _pki.Dispose();
    }

    private KubeConnection Load(string ca, string? user)
    {
        var path = Path.Combine(_dir.Path, Guid.NewGuid().ToString("N"));
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: tls
              cluster:
                server: https://localhost:{_server.Url.Port}
                certificate-authority: {ca}
            users:
            - name: me
              user:
            {user}
            contexts:
            - name: tls
              context:
                cluster: tls
                user: me
            current-context: tls
            """);
        return KubeConnection.Load(new KubeConnectionOptions { KubeconfigPath = path, Environment = _ => null });
    }

    [Fact]
    public async Task AClientCertificate_IsTheIdentity_AndRbacAppliesToIt()
    {
        using var client = new KubeClient(Load(_pki.CaCertFile, $"    client-certificate: {_pki.ClientCertFile}\n    client-key: {_pki.ClientKeyFile}"));

        var namespaces = await client.ListAsync<GenericObject>(KubeResource.Namespaces, null, null, default);
        var denied = await Assert.ThrowsAsync<KubeForbiddenException>(() => client.ListAsync<GenericObject>(KubeResource.Pods, "default", null, default));

        Assert.Contains(namespaces.Items, n => n.Metadata.Name == "default");
        Assert.Contains("User \"root\" cannot list resource \"pods\"", denied.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoCredentials_Is401_AndAServerOutsideTheCa_IsATlsFailureNamingTheServer()
    {
        using var anonymous = new KubeClient(Load(_pki.CaCertFile, "    {}"));
        await Assert.ThrowsAsync<KubeUnauthorizedException>(() => anonymous.ListAsync<GenericObject>(KubeResource.Namespaces, null, null, default));

        using var distrusting = new KubeClient(Load(_pki.OtherCaCertFile, $"    client-certificate: {_pki.ClientCertFile}\n    client-key: {_pki.ClientKeyFile}"));
        var failed = await Assert.ThrowsAsync<KubeException>(() => distrusting.ListAsync<GenericObject>(KubeResource.Namespaces, null, null, default));
        Assert.Contains("cannot reach the API server https://localhost:", failed.Message, StringComparison.Ordinal);
    }
}
