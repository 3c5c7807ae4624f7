using System.Runtime.CompilerServices;
using Google.Protobuf;

namespace Lifeboat.Etcd.Grpc;

/// <summary>
/// A bidirectional stream (Watch, LeaseKeepAlive). Writes are serialized; reads belong to one consumer.
/// </summary>
/// <remarks>Disposing cancels the HTTP/2 stream: that, not <see cref="CompleteRequests"/>, is what ends a watch in etcd.</remarks>
public sealed class DuplexCall<TRequest, TResponse> : IAsyncDisposable
    where TRequest : IMessage
    where TResponse : class, IMessage<TResponse>
{
    private readonly ActiveCall _call;
    private readonly DuplexContent _content;
    private readonly MessageParser<TResponse> _parser;
    private readonly CancellationTokenSource _lifetime;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private int _disposed;

    internal DuplexCall(ActiveCall call, DuplexContent content, MessageParser<TResponse> parser, CancellationTokenSource lifetime)
    {
        _call = call;
        _content = content;
        _parser = parser;
        _lifetime = lifetime;
    }

    public string Endpoint => _call.Endpoint;

    public async Task WriteAsync(TRequest message, CancellationToken cancellationToken)
    {
        var framed = GrpcFraming.Frame(message);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
        await _writeLock.WaitAsync(linked.Token);
        try
        {
            var stream = await _content.RequestStream;
            await stream.WriteAsync(framed, linked.Token);
            await stream.FlushAsync(linked.Token);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw new EtcdException(GrpcStatusCode.Unavailable, $"the stream to {Endpoint} broke: {ex.Message}",
                "etcd may have stopped or restarted; try again", Endpoint, ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Half-closes the request side. etcd keeps a watch open after this; dispose to end it.</summary>
    public void CompleteRequests() => _content.Complete();

    /// <summary>The next response, or null when etcd ended the call with status OK.</summary>
    public async ValueTask<TResponse?> ReadAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
        return await _call.ReadAsync(_parser, linked.Token);
    }

    public async IAsyncEnumerable<TResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await ReadAsync(cancellationToken) is { } message)
        {
            yield return message;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _lifetime.CancelAsync();
        _content.Abort();
        _call.Dispose();
        _lifetime.Dispose();
        _writeLock.Dispose();
    }
}
