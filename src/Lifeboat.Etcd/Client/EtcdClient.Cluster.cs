using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Client;

public sealed partial class EtcdClient
{
    public Task<MemberListResponse> MemberListAsync(CancellationToken cancellationToken) =>
        _connection.UnaryAsync("/etcdserverpb.Cluster/MemberList",
            (invoker, options) => new Cluster.ClusterClient(invoker).MemberListAsync(new MemberListRequest(), options), null, null, cancellationToken);
}
