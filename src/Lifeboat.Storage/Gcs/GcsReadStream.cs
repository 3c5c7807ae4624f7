using System.Net.Http.Headers;
using Google;
using Lifeboat.Core.IO;

namespace Lifeboat.Storage.Gcs;

/// <summary>
/// An object's bytes as the JSON API serves them (<c>alt=media</c>), pinned to one generation. A connection that
/// breaks mid-object is picked up where it stopped with a ranged request for the same generation, a few times,
/// so a multi-gigabyte restore does not start over because of one reset. Requests go through the library's HTTP
/// client, so they carry its credentials; the library itself only downloads into a stream it is given.
/// </summary>
internal sealed class GcsReadStream : ReadOnlyStream
{
    private const int MaxResumes = 5;

    private readonly GcsStore _store;
    private readonly Google.Apis.Storage.v1.Data.Object _item;
    private HttpResponseMessage _response;
    private Stream _body;
    private long _position;
    private int _resumes;

    private GcsReadStream(GcsStore store, Google.Apis.Storage.v1.Data.Object item, HttpResponseMessage response, Stream body)
    {
        _store = store;
        _item = item;
        _response = response;
        _body = body;
    }

    public static async Task<GcsReadStream> OpenAsync(GcsStore store, Google.Apis.Storage.v1.Data.Object item, CancellationToken cancellationToken)
    {
        var (response, body) = await RequestAsync(store, item, 0, cancellationToken);
        return new GcsReadStream(store, item, response, body);
    }

    private static async Task<(HttpResponseMessage, Stream)> RequestAsync(GcsStore store, Google.Apis.Storage.v1.Data.Object item, long offset,
        CancellationToken cancellationToken)
    {
        var service = store.Client.Service;
        var uri = $"{service.BaseUri}b/{Uri.EscapeDataString(item.Bucket)}/o/{Uri.EscapeDataString(item.Name)}?alt=media&generation={item.Generation}";
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (offset > 0)
        {
            request.Headers.Range = new RangeHeaderValue(offset, null);
        }

        var response = await service.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            response.Dispose();
            throw new GoogleApiException("storage", $"reading {item.Name} failed: {text}") { HttpStatusCode = response.StatusCode };
        }

        if (offset > 0 && (response.StatusCode != System.Net.HttpStatusCode.PartialContent || response.Content.Headers.ContentRange?.From != offset))
        {
            response.Dispose(); // the rest was asked for, and something else came: resuming from it would misplace bytes
            throw new IOException($"resuming {item.Name} at byte {offset} got {(int)response.StatusCode} without that range");
        }

        return (response, await response.Content.ReadAsStreamAsync(cancellationToken));
    }

    public override long Length => (long)(_item.Size ?? 0);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            try
            {
                // The client's timeout ends with the headers: a connection that goes silent mid-body is cut here, and resumed.
                using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                stall.CancelAfter(_store.Options.RequestTimeout);
                int n;
                try
                {
                    n = await _body.ReadAsync(buffer, stall.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new IOException($"no data for {_store.Options.RequestTimeout.TotalSeconds:0} s");
                }

                if (n == 0 && _position < Length && !buffer.IsEmpty)
                {
                    throw new IOException($"the connection ended after {_position} of {Length} bytes");
                }

                _position += n;
                return n;
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested && _resumes < MaxResumes)
            {
                _resumes++;
                GcsLog.Resuming(_store.Logger, _item.Name, _position, ex.Message);
                _response.Dispose();
                (_response, _body) = await RequestAsync(_store, _item, _position, cancellationToken);
            }
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

#pragma warning disable VSTHRD002 // a synchronous Stream API has no other way
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _response.Dispose();
        }

        base.Dispose(disposing);
    }
}
