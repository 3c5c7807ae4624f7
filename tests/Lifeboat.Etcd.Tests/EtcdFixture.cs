using Lifeboat.Etcd.Client;
using Lifeboat.Testing;

namespace Lifeboat.Etcd.Tests;

/// <summary>One plain-HTTP etcd shared by a test collection; tests use their own key prefixes.</summary>
public sealed class EtcdFixture : IAsyncLifetime
{
    private EtcdServer? _server;

    public EtcdServer Server => _server ?? throw new InvalidOperationException("etcd is not started");

    public EtcdClient CreateClient() => Server.CreateClient();

    public async Task InitializeAsync() => _server = await EtcdServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class EtcdCollection : ICollectionFixture<EtcdFixture>
{
    public const string Name = "etcd";
}
