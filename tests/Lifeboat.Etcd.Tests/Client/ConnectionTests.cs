using Grpc.Core;
using Lifeboat.Etcd.Client;
using Lifeboat.Testing;

namespace Lifeboat.Etcd.Tests.Client;

[Collection(EtcdCollection.Name)]
public sealed class ConnectionTests(EtcdFixture etcd)
{
    [Fact]
    public async Task AnyCall_NothingListening_ThrowsTransientConnectionRefusedWithHint()
    {
        using var client = new EtcdClient(new EtcdClientOptions { Endpoints = [new Uri($"http://127.0.0.1:{LoopbackPorts.Next()}")] });
        var ex = await Assert.ThrowsAsync<EtcdException>(() => client.StatusAsync(null, default));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.True(ex.IsTransient);
        Assert.True(ex.NotSent);
        Assert.Contains("connection refused", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--endpoints", ex.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_FirstEndpointDead_FailOverToTheNext()
    {
        var dead = new Uri($"http://127.0.0.1:{LoopbackPorts.Next()}");
        using var client = new EtcdClient(new EtcdClientOptions { Endpoints = [dead, etcd.Server.ClientUrl] });

        var status = await client.StatusAsync(null, default);

        Assert.NotNull(status.Header);
        Assert.Equal(etcd.Server.ClientUrl, client.CurrentEndpoint);
    }

    [Fact]
    public async Task AnyCall_HttpsToPlainEtcd_ExplainsTheScheme()
    {
        var https = new UriBuilder(etcd.Server.ClientUrl) { Scheme = "https" }.Uri;
        using var client = new EtcdClient(new EtcdClientOptions { Endpoints = [https] });
        var ex = await Assert.ThrowsAsync<EtcdException>(() => client.StatusAsync(null, default));
        Assert.Contains("http://", ex.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCall_NotAnEtcdEndpoint_SaysSo()
    {
        // etcd's peer port speaks HTTP but not the v3 gRPC API.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var accept = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            var buffer = new byte[1024];
            _ = await socket.ReceiveAsync(buffer);
            await socket.SendAsync("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
        });
        using var client = new EtcdClient(new EtcdClientOptions { Endpoints = [new Uri($"http://127.0.0.1:{port}")] });

        var ex = await Assert.ThrowsAsync<EtcdException>(() => client.StatusAsync(null, default));

        Assert.Contains("HTTP/2", ex.Message + ex.Hint, StringComparison.Ordinal);
        await accept;
    }

    [Fact]
    public void Options_BadEndpoint_AreRejectedWithTheFix()
    {
        var ex = Assert.Throws<ArgumentException>(() => new EtcdClient(new EtcdClientOptions { Endpoints = [new Uri("ftp://127.0.0.1:2379")] }));
        Assert.Contains("http://", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new EtcdClient(new EtcdClientOptions { Endpoints = [] }));
        Assert.Throws<ArgumentException>(() => new EtcdClient(new EtcdClientOptions { Endpoints = [etcd.Server.ClientUrl], KeepAliveInterval = TimeSpan.FromSeconds(1) }));
    }

    [Fact]
    public void ParseEndpoints_ReadsCommaSeparatedUrls_AndRefusesOneWithoutAScheme()
    {
        var endpoints = EtcdClientOptions.ParseEndpoints("http://127.0.0.1:2379, https://etcd-0:2379");
        Assert.Equal([new Uri("http://127.0.0.1:2379"), new Uri("https://etcd-0:2379")], endpoints);

        var error = Assert.Throws<ArgumentException>(() => EtcdClientOptions.ParseEndpoints("127.0.0.1:2379"));
        Assert.Equal("endpoint '127.0.0.1:2379' has no scheme: write it as http://127.0.0.1:2379 or https://127.0.0.1:2379", error.Message);
    }
}
