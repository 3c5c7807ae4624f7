using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

namespace Lifeboat.Etcd.Grpc;

/// <summary>One HTTP/2 exchange after its response headers arrived: reads messages and the final status.</summary>
internal sealed class ActiveCall(HttpRequestMessage request, HttpResponseMessage response, string endpoint, int maxMessageBytes) : IDisposable
{
    private GrpcMessageReader? _reader;
    private bool _ended;

    public string Endpoint => endpoint;

    /// <summary>Throws unless the headers start a gRPC response; a trailers-only error is thrown here.</summary>
    public void CheckHeaders(string method)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var hint = response.StatusCode == HttpStatusCode.NotFound
                ? "this is not an etcd v3 gRPC endpoint (or it was reached over HTTP/1.1); check --endpoints"
                : "check that --endpoints names an etcd client URL";
            throw new EtcdException(GrpcStatusCode.Unknown,
                $"{endpoint} answered {method} with HTTP {(int)response.StatusCode} {response.ReasonPhrase}", hint, endpoint);
        }

        if (TryGetStatus(response.Headers, out var code, out var message))
        {
            _ended = true;
            if (code != GrpcStatusCode.OK)
            {
                throw EtcdErrors.FromStatus(code, message, method, endpoint);
            }
        }
        else if (response.Content.Headers.ContentType?.MediaType is not { } type || !type.StartsWith("application/grpc", StringComparison.Ordinal))
        {
            throw new EtcdException(GrpcStatusCode.Unknown,
                $"{endpoint} answered {method} with content type '{response.Content.Headers.ContentType}', not gRPC",
                "check that --endpoints names an etcd client URL", endpoint);
        }
    }

    /// <summary>The next message, or null when the call ended with status OK; throws the call's error status otherwise.</summary>
    public async ValueTask<T?> ReadAsync<T>(MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        var raw = await ReadRawAsync(cancellationToken);
        return raw is { } bytes ? parser.ParseFrom(bytes.Span) : null;
    }

    /// <summary>
    /// The next message's protobuf bytes, valid until the next read; null when the call ended with status OK.
    /// For hot streams that decode their messages without copying (Snapshot).
    /// </summary>
    public async ValueTask<ReadOnlyMemory<byte>?> ReadRawAsync(CancellationToken cancellationToken)
    {
        if (_ended)
        {
            return null;
        }

        try
        {
            _reader ??= new GrpcMessageReader(await response.Content.ReadAsStreamAsync(cancellationToken), maxMessageBytes, endpoint);
            if (await _reader.ReadAsync(cancellationToken) is { } message)
            {
                return message;
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw new EtcdException(GrpcStatusCode.Unavailable, $"the connection to {endpoint} broke mid-call: {ex.Message}",
                "etcd may have stopped or restarted; try again", endpoint, ex);
        }

        _ended = true;
        if (!TryGetStatus(response.TrailingHeaders, out var code, out var text))
        {
            throw new EtcdException(GrpcStatusCode.Unavailable, $"the call to {endpoint} ended without a gRPC status",
                "etcd may have stopped mid-call; try again", endpoint);
        }

        if (code != GrpcStatusCode.OK)
        {
            throw EtcdErrors.FromStatus(code, text, request.RequestUri?.AbsolutePath ?? "call", endpoint);
        }

        return null;
    }

    /// <summary>Reads past any remaining messages so that the final status is checked.</summary>
    public async ValueTask ReadToEndAsync(CancellationToken cancellationToken)
    {
        while (!_ended)
        {
            _ = await ReadRawAsync(cancellationToken);
        }
    }

    /// <summary>The error for a call that ended before sending what it must.</summary>
    public EtcdException StatusOrMissing(string what) =>
        new(GrpcStatusCode.Internal, $"{endpoint}: {what}", null, endpoint);

    private static bool TryGetStatus(HttpHeaders headers, out GrpcStatusCode code, out string message)
    {
        code = GrpcStatusCode.Unknown;
        message = "";
        if (!headers.TryGetValues("grpc-status", out var values) || values.FirstOrDefault() is not { } raw)
        {
            return false;
        }

        code = int.TryParse(raw, out var n) ? (GrpcStatusCode)n : GrpcStatusCode.Unknown;
        if (headers.TryGetValues("grpc-message", out var messages) && messages.FirstOrDefault() is { } m)
        {
            message = Uri.UnescapeDataString(m);
        }

        return true;
    }

    public void Dispose()
    {
        _reader?.Dispose();
        response.Dispose();
        request.Dispose();
    }
}
