using Lifeboat.Etcd.Client;
using Lifeboat.Testing;

namespace Lifeboat.Etcd.Tests.Client;

/// <summary>etcd serving TLS with client-certificate authentication (--client-cert-auth).</summary>
public sealed class TlsTests : IAsyncLifetime
{
    private readonly TestCertificates _pki = new();
    private EtcdServer? _server;

    private EtcdServer Server => _server!;

    public async Task InitializeAsync() => _server = await EtcdServer.StartAsync(_pki);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _pki.Dispose();
    }

    [Fact]
    public async Task Calls_WithCaAndClientCertificate_Succeed()
    {
        using var client = Server.CreateClient(_pki);
        await client.PutAsync("/tls", "ok", default);
        Assert.Equal("ok", Assert.Single((await client.GetAsync("/tls", default)).Kvs).Value.ToStringUtf8());
        await foreach (var _ in client.SnapshotAsync(null, default))
        {
        }
    }

    [Fact]
    public async Task Calls_WithoutClientCertificate_FailWithClientCertificateHint()
    {
        using var client = new EtcdClient(new EtcdClientOptions { Endpoints = [Server.ClientUrl], CaCertificateFile = _pki.CaCertFile });
        var ex = await Assert.ThrowsAsync<EtcdException>(() => client.StatusAsync(null, default));
        Assert.Contains("HTTP/2 handshake", ex.Message, StringComparison.Ordinal);
        Assert.Contains("requires a client certificate", ex.Hint, StringComparison.Ordinal);
        Assert.True(ex.NotSent);
    }

    [Fact]
    public async Task Calls_WithUntrustedClientCertificate_FailWithClientCertificateHint()
    {
        using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [Server.ClientUrl],
            CaCertificateFile = _pki.CaCertFile,
            ClientCertificateFile = _pki.StrangerCertFile,
            ClientKeyFile = _pki.StrangerKeyFile,
        });
        var ex = await Assert.ThrowsAsync<EtcdException>(() => client.StatusAsync(null, default));
        Assert.Contains("rejected the client certificate", ex.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_WithWrongCa_FailWithCaHint()
    {
        using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [Server.ClientUrl],
            CaCertificateFile = _pki.OtherCaCertFile,
            ClientCertificateFile = _pki.ClientCertFile,
            ClientKeyFile = _pki.ClientKeyFile,
        });
        var ex = await Assert.ThrowsAsync<EtcdException>(() => client.StatusAsync(null, default));
        Assert.Contains("--cacert", ex.Hint, StringComparison.Ordinal);
        Assert.True(ex.NotSent);
    }

    [Fact]
    public async Task Calls_PlainHttpToTlsPort_ExplainHttps()
    {
        var plain = new UriBuilder(Server.ClientUrl) { Scheme = "http" }.Uri;
        using var client = new EtcdClient(new EtcdClientOptions { Endpoints = [plain] });
        var ex = await Assert.ThrowsAsync<EtcdException>(() => client.StatusAsync(null, default));
        Assert.Contains("https://", ex.Hint, StringComparison.Ordinal);
    }
}
