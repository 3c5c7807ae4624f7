using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Client;

public sealed partial class EtcdClient
{
    public Task<MemberListResponse> MemberListAsync(CancellationToken cancellationToken) =>
        _transport.UnaryAsync("/etcdserverpb.Cluster/MemberList", new MemberListRequest(), MemberListResponse.Parser, null, null, cancellationToken);
}
