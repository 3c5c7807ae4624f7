using System.Runtime.CompilerServices;
using Grpc.Core;

namespace Lifeboat.Etcd.Client;

/// <summary>
/// A bidirectional stream (Watch, LeaseKeepAlive) on grpc-dotnet, with failures as <see cref="EtcdException"/>s.
/// Writes are serialized (grpc-dotnet refuses a write while another is in flight); reads belong to one consumer.
/// </summary>
/// <remarks>Disposing resets the HTTP/2 stream: that, not completing the requests, is what ends a watch in etcd.</remarks>
public sealed class DuplexCall<TRequest, TResponse> : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<TRequest, TResponse> _call;
    private readonly Func<RpcException, EtcdException> _translate;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private int _disposed;

    internal DuplexCall(AsyncDuplexStreamingCall<TRequest, TResponse> call, string endpoint, Func<RpcException, EtcdException> translate)
    {
        _call = call;
        Endpoint = endpoint;
        _translate = translate;
    }

    public string Endpoint { get; }

    public async Task WriteAsync(TRequest message, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await _call.RequestStream.WriteAsync(message, cancellationToken);
        }
        catch (RpcException ex)
        {
            throw _translate(ex);
        }
        catch (InvalidOperationException ex)
        {
            // The call is over (etcd ended it, or the connection broke): there is no stream left to write to.
            throw new EtcdException(StatusCode.Unavailable, $"the stream to {Endpoint} ended: {ex.Message}",
                "etcd may have stopped or restarted; try again", Endpoint, ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The next response, or null when etcd ended the call with status OK.</summary>
    public async ValueTask<TResponse?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _call.ResponseStream.MoveNext(cancellationToken) ? _call.ResponseStream.Current : default;
        }
        catch (RpcException ex)
        {
            throw _translate(ex);
        }
    }

    public async IAsyncEnumerable<TResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await ReadAsync(cancellationToken) is { } message)
        {
            yield return message;
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _call.Dispose();
            _writeLock.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}
