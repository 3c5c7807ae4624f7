using Lifeboat.Etcd.Grpc;
using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Client;

public sealed partial class EtcdClient
{
    /// <summary>Grants a lease of <paramref name="ttlSeconds"/>; <paramref name="id"/> 0 lets etcd choose the id.</summary>
    public Task<LeaseGrantResponse> LeaseGrantAsync(long ttlSeconds, long id, CancellationToken cancellationToken) =>
        _transport.UnaryAsync("/etcdserverpb.Lease/LeaseGrant", new LeaseGrantRequest { TTL = ttlSeconds, ID = id },
            LeaseGrantResponse.Parser, null, null, cancellationToken);

    /// <summary>Revokes a lease, deleting its keys.</summary>
    public Task<LeaseRevokeResponse> LeaseRevokeAsync(long id, CancellationToken cancellationToken) =>
        _transport.UnaryAsync("/etcdserverpb.Lease/LeaseRevoke", new LeaseRevokeRequest { ID = id },
            LeaseRevokeResponse.Parser, null, null, cancellationToken);

    /// <summary>Remaining and granted TTL of a lease; TTL is -1 when the lease does not exist.</summary>
    public Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(long id, bool keys, CancellationToken cancellationToken) =>
        _transport.UnaryAsync("/etcdserverpb.Lease/LeaseTimeToLive", new LeaseTimeToLiveRequest { ID = id, Keys = keys },
            LeaseTimeToLiveResponse.Parser, null, null, cancellationToken);

    public Task<LeaseLeasesResponse> LeaseLeasesAsync(CancellationToken cancellationToken) =>
        _transport.UnaryAsync("/etcdserverpb.Lease/LeaseLeases", new LeaseLeasesRequest(),
            LeaseLeasesResponse.Parser, null, null, cancellationToken);

    /// <summary>
    /// Opens a keepalive stream, sending the first keepalive for <paramref name="id"/>. Write further
    /// <see cref="LeaseKeepAliveRequest"/>s to keep leases alive; dispose to end the stream.
    /// </summary>
    public Task<DuplexCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse>> LeaseKeepAliveAsync(long id, CancellationToken cancellationToken) =>
        _transport.DuplexAsync("/etcdserverpb.Lease/LeaseKeepAlive", new LeaseKeepAliveRequest { ID = id },
            LeaseKeepAliveResponse.Parser, null, cancellationToken);

    /// <summary>Refreshes a lease once; the returned TTL is 0 or less when the lease no longer exists.</summary>
    public async Task<LeaseKeepAliveResponse> LeaseKeepAliveOnceAsync(long id, CancellationToken cancellationToken)
    {
        await using var call = await LeaseKeepAliveAsync(id, cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.CommandTimeout);
        return await call.ReadAsync(timeout.Token)
            ?? throw new EtcdException(GrpcStatusCode.Internal, $"{call.Endpoint} ended the keepalive stream without an answer", null, call.Endpoint);
    }
}
