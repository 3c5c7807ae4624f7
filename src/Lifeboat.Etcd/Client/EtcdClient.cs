using Lifeboat.Etcd.Grpc;
using Microsoft.Extensions.Logging;

namespace Lifeboat.Etcd.Client;

/// <summary>
/// A small etcd v3 client: the KV, Watch, Lease, Maintenance and Cluster calls Lifeboat needs, over
/// <see cref="GrpcTransport"/>. Thread-safe. Calls that accept an endpoint go to that member only (no failover), which
/// is what per-member checks such as Status need; the others go to the current endpoint and fail over.
/// </summary>
public sealed partial class EtcdClient : IDisposable
{
    private readonly GrpcTransport _transport;

    public EtcdClient(EtcdClientOptions options, ILogger? logger = null)
    {
        _transport = new GrpcTransport(options, logger);
    }

    public EtcdClientOptions Options => _transport.Options;

    /// <summary>The endpoint that calls without an explicit endpoint go to now.</summary>
    public Uri CurrentEndpoint => _transport.CurrentEndpoint;

    public void Dispose() => _transport.Dispose();
}
