using Microsoft.Extensions.Logging;

namespace Lifeboat.Etcd.Client;

/// <summary>
/// The etcd v3 calls Lifeboat needs (KV, Watch, Lease, Maintenance, Cluster), through grpc-dotnet's generated stubs
/// on <see cref="EtcdConnection"/>. Thread-safe. Calls that accept an endpoint go to that member only (no failover),
/// which is what per-member checks such as Status need; the others go to the current endpoint and fail over.
/// </summary>
public sealed partial class EtcdClient : IDisposable
{
    private readonly EtcdConnection _connection;

    public EtcdClient(EtcdClientOptions options, ILogger? logger = null)
    {
        _connection = new EtcdConnection(options, logger);
    }

    public EtcdClientOptions Options => _connection.Options;

    /// <summary>The endpoint that calls without an explicit endpoint go to now.</summary>
    public Uri CurrentEndpoint => _connection.CurrentEndpoint;

    public void Dispose() => _connection.Dispose();
}
