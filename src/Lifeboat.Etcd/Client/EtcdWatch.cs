using System.Runtime.CompilerServices;
using Grpc.Core;
using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Client;

/// <summary>One watcher on its own stream. Dispose to cancel it (etcd ends a watch only when the stream is reset).</summary>
public sealed class EtcdWatch : IAsyncDisposable
{
    private readonly DuplexCall<WatchRequest, WatchResponse> _call;
    private readonly long _startRevision;

    internal EtcdWatch(DuplexCall<WatchRequest, WatchResponse> call, long startRevision)
    {
        _call = call;
        _startRevision = startRevision;
    }

    public string Endpoint => _call.Endpoint;

    /// <summary>
    /// Responses as etcd sends them: the creation confirmation, event batches and progress notifications.
    /// Ends when etcd ends the stream.
    /// </summary>
    /// <exception cref="EtcdCompactedException">The start revision has been compacted.</exception>
    /// <exception cref="EtcdException">etcd cancelled the watcher for another reason, or the stream broke.</exception>
    public async IAsyncEnumerable<WatchResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var response in _call.ReadAllAsync(cancellationToken))
        {
            if (response.CompactRevision > 0)
            {
                throw new EtcdCompactedException(_startRevision, response.CompactRevision, Endpoint);
            }

            if (response.Canceled)
            {
                throw new EtcdException(StatusCode.Cancelled,
                    $"etcd at {Endpoint} cancelled the watch: {(response.CancelReason is { Length: > 0 } r ? r : "no reason given")}",
                    null, Endpoint);
            }

            yield return response;
        }
    }

    /// <summary>Asks etcd for a progress notification (a response with no events carrying the current revision).</summary>
    public Task RequestProgressAsync(CancellationToken cancellationToken) =>
        _call.WriteAsync(new WatchRequest { ProgressRequest = new WatchProgressRequest() }, cancellationToken);

    public ValueTask DisposeAsync() => _call.DisposeAsync();
}
