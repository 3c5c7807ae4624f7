using System.Net;

namespace Lifeboat.Etcd.Grpc;

/// <summary>
/// Request content for client- and bidirectional-streaming calls: it hands the HTTP/2 request stream to the caller and
/// stays open until <see cref="Complete"/> (half-close) or cancellation.
/// </summary>
internal sealed class DuplexContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public DuplexContent()
    {
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
    }

    /// <summary>Completes when the handler has opened the request stream.</summary>
    public Task<Stream> RequestStream => _stream.Task;

    /// <summary>Ends the request side: the handler sends END_STREAM.</summary>
    public void Complete() => _completed.TrySetResult();

    /// <summary>Unblocks the handler when the call is abandoned.</summary>
    public void Abort()
    {
        _stream.TrySetCanceled();
        _completed.TrySetResult();
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _stream.TrySetResult(stream);
        using (cancellationToken.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), _completed))
        {
            await _completed.Task;
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
