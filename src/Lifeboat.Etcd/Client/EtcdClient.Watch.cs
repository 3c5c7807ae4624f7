using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Client;

public sealed partial class EtcdClient
{
    /// <summary>
    /// Opens a watch stream with one watcher. The returned <see cref="EtcdWatch"/> yields responses until disposed;
    /// it throws <see cref="EtcdCompactedException"/> when etcd cancels the watcher because its start revision is gone.
    /// </summary>
    public async Task<EtcdWatch> WatchAsync(WatchCreateRequest create, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(create);
        var call = await _connection.DuplexAsync("/etcdserverpb.Watch/Watch", (invoker, options) => new Watch.WatchClient(invoker).Watch(options),
            new WatchRequest { CreateRequest = create }, null, cancellationToken);
        return new EtcdWatch(call, create.StartRevision);
    }
}
