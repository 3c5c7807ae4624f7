using Grpc.Core;
using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Client;

public sealed partial class EtcdClient
{
    /// <summary>Grants a lease of <paramref name="ttlSeconds"/>; <paramref name="id"/> 0 lets etcd choose the id.</summary>
    public Task<LeaseGrantResponse> LeaseGrantAsync(long ttlSeconds, long id, CancellationToken cancellationToken) =>
        _connection.UnaryAsync("/etcdserverpb.Lease/LeaseGrant",
            (invoker, options) => new Lease.LeaseClient(invoker).LeaseGrantAsync(new LeaseGrantRequest { TTL = ttlSeconds, ID = id }, options), null, null, cancellationToken);

    /// <summary>Revokes a lease, deleting its keys.</summary>
    public Task<LeaseRevokeResponse> LeaseRevokeAsync(long id, CancellationToken cancellationToken) =>
        _connection.UnaryAsync("/etcdserverpb.Lease/LeaseRevoke",
            (invoker, options) => new Lease.LeaseClient(invoker).LeaseRevokeAsync(new LeaseRevokeRequest { ID = id }, options), null, null, cancellationToken);

    /// <summary>Remaining and granted TTL of a lease; TTL is -1 when the lease does not exist.</summary>
    public Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(long id, bool keys, CancellationToken cancellationToken) =>
        _connection.UnaryAsync("/etcdserverpb.Lease/LeaseTimeToLive",
            (invoker, options) => new Lease.LeaseClient(invoker).LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = id, Keys = keys }, options), null, null, cancellationToken);

    public Task<LeaseLeasesResponse> LeaseLeasesAsync(CancellationToken cancellationToken) =>
        _connection.UnaryAsync("/etcdserverpb.Lease/LeaseLeases",
            (invoker, options) => new Lease.LeaseClient(invoker).LeaseLeasesAsync(new LeaseLeasesRequest(), options), null, null, cancellationToken);

    /// <summary>
    /// Opens a keepalive stream, sending the first keepalive for <paramref name="id"/>. Write further
    /// <see cref="LeaseKeepAliveRequest"/>s to keep leases alive; dispose to end the stream.
    /// </summary>
    public Task<DuplexCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse>> LeaseKeepAliveAsync(long id, CancellationToken cancellationToken) =>
        _connection.DuplexAsync("/etcdserverpb.Lease/LeaseKeepAlive", (invoker, options) => new Lease.LeaseClient(invoker).LeaseKeepAlive(options),
            new LeaseKeepAliveRequest { ID = id }, null, cancellationToken);

    /// <summary>Refreshes a lease once; the returned TTL is 0 or less when the lease no longer exists.</summary>
    public async Task<LeaseKeepAliveResponse> LeaseKeepAliveOnceAsync(long id, CancellationToken cancellationToken)
    {
        await using var call = await LeaseKeepAliveAsync(id, cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.CommandTimeout);
        return await call.ReadAsync(timeout.Token)
            ?? throw new EtcdException(StatusCode.Internal, $"{call.Endpoint} ended the keepalive stream without an answer", null, call.Endpoint);
    }
}
