using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Lifeboat.Core.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeboat.Etcd.Grpc;

/// <summary>
/// gRPC over HTTP/2 with <see cref="HttpClient"/>: unary, server-streaming and bidirectional calls to one of several
/// endpoints, failing over to the next when a connection cannot be made.
/// </summary>
/// <remarks>
/// Pitfalls this class exists to handle: the request version policy must be exact, or .NET silently speaks HTTP/1.1
/// and etcd answers 404; HttpClient's 100 s default timeout would kill long streams, so it is infinite and each call
/// carries its own deadline; etcd reports errors as trailers-only responses, so <c>grpc-status</c> is read from the
/// headers as well as the trailers; a bidirectional call must write its first message before awaiting the response
/// headers, because etcd sends headers only with its first message; a stream ends by cancelling the request (a
/// half-close does not end a watch). Thread-safe: one instance serves concurrent calls.
/// </remarks>
public sealed class GrpcTransport : IDisposable
{
    /// <summary>
    /// Each stream's HTTP/2 receive window. 2 MiB keeps a snapshot stream moving at etcd's pace on loopback and LAN;
    /// 8 MiB was no faster (3.5-3.6 s per GB either way) but, when the consumer was slower than etcd (compressing),
    /// held up to 8 MiB in 16 KiB pooled blocks beyond what the pool keeps, which showed as ~200 MiB of allocation and
    /// ~40 MiB more peak memory per GB.
    /// </summary>
    private const int StreamWindowBytes = 2 * 1024 * 1024;

    private static readonly MediaTypeHeaderValue GrpcContentType = new("application/grpc");

    private readonly EtcdClientOptions _options;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly X509Certificate2? _clientCertificate;
    private readonly X509Certificate2Collection? _trustedCas;
    private readonly SemaphoreSlim _authenticating = new(1, 1);
    private volatile string? _token;
    private int _current;

    /// <summary>etcd's Authenticate call: the one call made without a token.</summary>
    private const string AuthenticateMethod = "/etcdserverpb.Auth/Authenticate";

    public GrpcTransport(EtcdClientOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        (_clientCertificate, _trustedCas) = LoadTls(options);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = options.DialTimeout,
            KeepAlivePingDelay = options.KeepAliveInterval,
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            EnableMultipleHttp2Connections = true,
            InitialHttp2StreamWindowSize = StreamWindowBytes,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
            ConnectCallback = ConnectAsync,
            SslOptions = new SslClientAuthenticationOptions
            {
                ApplicationProtocols = [SslApplicationProtocol.Http2],
                RemoteCertificateValidationCallback = ValidateServerCertificate,
            },
        };
        if (_clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [_clientCertificate];
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => _clientCertificate;
        }

        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public EtcdClientOptions Options => _options;

    /// <summary>The endpoint calls go to first; moves on when it cannot be reached.</summary>
    public Uri CurrentEndpoint => _options.Endpoints[Volatile.Read(ref _current) % _options.Endpoints.Count];

    /// <summary>Sends one request and reads one response.</summary>
    /// <param name="endpoint">A specific endpoint (no failover), or null for the current one with failover.</param>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(string method, TRequest request, MessageParser<TResponse> parser,
        TimeSpan? timeout, Uri? endpoint, CancellationToken cancellationToken)
        where TRequest : IMessage
        where TResponse : class, IMessage<TResponse>
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout ?? _options.CommandTimeout);
        var framed = GrpcFraming.Frame(request);
        try
        {
            using var call = await StartAsync(method, endpoint, () => new ByteArrayContent(framed), null, deadline.Token);
            var response = await call.ReadAsync(parser, deadline.Token)
                ?? throw call.StatusOrMissing($"{method} returned no message");
            await call.ReadToEndAsync(deadline.Token);
            return response;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new EtcdException(GrpcStatusCode.DeadlineExceeded,
                $"{method} to {endpoint ?? CurrentEndpoint} did not answer within {(timeout ?? _options.CommandTimeout).TotalSeconds:0.#} s",
                "etcd may be overloaded or without a leader; check its health and try again", (endpoint ?? CurrentEndpoint).ToString());
        }
    }

    /// <summary>Sends one request and streams the responses until etcd ends the call.</summary>
    public async IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(string method, TRequest request,
        MessageParser<TResponse> parser, Uri? endpoint, [EnumeratorCancellation] CancellationToken cancellationToken)
        where TRequest : IMessage
        where TResponse : class, IMessage<TResponse>
    {
        var framed = GrpcFraming.Frame(request);
        using var call = await StartAsync(method, endpoint, () => new ByteArrayContent(framed), null, cancellationToken);
        while (await call.ReadAsync(parser, cancellationToken) is { } message)
        {
            yield return message;
        }
    }

    /// <summary>
    /// Like <see cref="ServerStreamingAsync{TRequest, TResponse}"/> but yields each message's undecoded bytes, valid only
    /// until the next iteration: for hot streams that decode without copying.
    /// </summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ServerStreamingRawAsync<TRequest>(string method, TRequest request, Uri? endpoint,
        [EnumeratorCancellation] CancellationToken cancellationToken)
        where TRequest : IMessage
    {
        var framed = GrpcFraming.Frame(request);
        using var call = await StartAsync(method, endpoint, () => new ByteArrayContent(framed), null, cancellationToken);
        while (await call.ReadRawAsync(cancellationToken) is { } message)
        {
            yield return message;
        }
    }

    /// <summary>
    /// Opens a bidirectional stream, writing <paramref name="first"/> before waiting for etcd's response headers.
    /// Dispose the call to end it: that cancels the HTTP/2 stream.
    /// </summary>
    public async Task<DuplexCall<TRequest, TResponse>> DuplexAsync<TRequest, TResponse>(string method, TRequest first,
        MessageParser<TResponse> parser, Uri? endpoint, CancellationToken cancellationToken)
        where TRequest : IMessage
        where TResponse : class, IMessage<TResponse>
    {
        var framed = GrpcFraming.Frame(first);
        DuplexContent? content = null;
        var lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var call = await StartAsync(method, endpoint, () => content = new DuplexContent(),
                async stream =>
                {
                    try
                    {
                        await stream.WriteAsync(framed, lifetime.Token);
                        await stream.FlushAsync(lifetime.Token);
                    }
                    catch (ObjectDisposedException) when (lifetime.Token.IsCancellationRequested)
                    {
                        // Cancelled while the stream opened: HttpClient tears the request stream down on cancellation, so
                        // the first write meets a disposed stream. That is the caller's cancellation, not a failure.
                        throw new OperationCanceledException(lifetime.Token);
                    }
                }, lifetime.Token);
            return new DuplexCall<TRequest, TResponse>(call, content!, parser, lifetime);
        }
        catch
        {
            content?.Abort();
            lifetime.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends the request and waits for response headers, failing over to the next endpoint while the failure means the
    /// request never reached a server.
    /// </summary>
    private async Task<ActiveCall> StartAsync(string method, Uri? endpoint, Func<HttpContent> contentFactory,
        Func<Stream, Task>? writeFirst, CancellationToken cancellationToken)
    {
        var authenticates = _options.Username is not null && method != AuthenticateMethod;
        if (authenticates && _token is null)
        {
            await AuthenticateAsync(null, endpoint, cancellationToken);
        }

        try
        {
            return await StartOnEndpointsAsync(method, endpoint, contentFactory, writeFirst, cancellationToken);
        }
        catch (EtcdException ex) when (authenticates && IsStaleToken(ex))
        {
            // Simple tokens expire (etcd's --auth-token-ttl, 5 min by default) and are dropped when the auth store
            // changes: get a new one and send once more.
            await AuthenticateAsync(_token, endpoint, cancellationToken);
            return await StartOnEndpointsAsync(method, endpoint, contentFactory, writeFirst, cancellationToken);
        }
    }

    /// <summary>An expired or dropped token, or none while etcd now wants one (auth was enabled after we started).</summary>
    private static bool IsStaleToken(EtcdException ex) =>
        ex.Message.Contains("invalid auth token", StringComparison.Ordinal) || ex.Message.Contains("auth store is old", StringComparison.Ordinal)
        || ex.Message.Contains("user name is empty", StringComparison.Ordinal);

    /// <summary>Gets a token for the configured user, unless another call already replaced <paramref name="stale"/>.</summary>
    private async Task AuthenticateAsync(string? stale, Uri? endpoint, CancellationToken cancellationToken)
    {
        await _authenticating.WaitAsync(cancellationToken);
        try
        {
            if (_token != stale)
            {
                return;
            }

            try
            {
                var response = await UnaryAsync(AuthenticateMethod,
                    new Protocol.AuthenticateRequest { Name = _options.Username, Password = _options.Password },
                    Protocol.AuthenticateResponse.Parser, null, endpoint, cancellationToken);
                _token = response.Token;
            }
            catch (EtcdException ex) when (ex.Message.Contains("authentication is not enabled", StringComparison.Ordinal))
            {
                // The same flags work before `etcdctl auth enable` and after it: without auth, calls need no token.
                _token = "";
                EtcdLog.AuthNotEnabled(_logger, _options.Username!);
            }
        }
        finally
        {
            _authenticating.Release();
        }
    }

    private async Task<ActiveCall> StartOnEndpointsAsync(string method, Uri? endpoint, Func<HttpContent> contentFactory,
        Func<Stream, Task>? writeFirst, CancellationToken cancellationToken)
    {
        var attempts = endpoint is null ? _options.Endpoints.Count : 1;
        EtcdException? last = null;
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var start = Volatile.Read(ref _current);
            var target = endpoint ?? _options.Endpoints[start % _options.Endpoints.Count];
            try
            {
                return await SendOnceAsync(target, method, contentFactory(), writeFirst, cancellationToken);
            }
            catch (EtcdException ex) when (ex.NotSent && endpoint is null && attempt + 1 < attempts)
            {
                last = ex;
                Interlocked.CompareExchange(ref _current, start + 1, start);
                EtcdLog.FailingOver(_logger, target.ToString(), ex.Message, CurrentEndpoint.ToString());
            }
        }

        throw last!;
    }

    private async Task<ActiveCall> SendOnceAsync(Uri endpoint, string method, HttpContent content, Func<Stream, Task>? writeFirst,
        CancellationToken cancellationToken)
    {
        content.Headers.ContentType ??= GrpcContentType;
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(endpoint, method))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        if (_token is { Length: > 0 } token && method != AuthenticateMethod)
        {
            request.Headers.TryAddWithoutValidation("token", token); // etcd reads the user's token from this metadata
        }

        var name = endpoint.ToString();
        HttpResponseMessage response;
        try
        {
            var send = _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (writeFirst is not null && content is DuplexContent duplex)
            {
                var ready = await Task.WhenAny(duplex.RequestStream, send);
                if (ready == duplex.RequestStream)
                {
                    await writeFirst(await duplex.RequestStream);
                }
            }

            response = await send;
        }
        catch (HttpRequestException ex)
        {
            request.Dispose();
            throw Describe(ex, endpoint, method);
        }
        catch (Exception ex) when (ex is IOException or AuthenticationException)
        {
            request.Dispose();
            throw Describe(ex, endpoint, method);
        }

        var call = new ActiveCall(request, response, name, _options.MaxReceiveMessageBytes);
        try
        {
            call.CheckHeaders(method);
            return call;
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    private EtcdException Describe(Exception ex, Uri endpoint, string method)
    {
        var name = endpoint.ToString();
        var chain = new List<Exception>();
        for (var e = ex; e is not null; e = e.InnerException)
        {
            chain.Add(e);
        }

        var socket = chain.OfType<SocketException>().FirstOrDefault();
        var auth = chain.OfType<AuthenticationException>().FirstOrDefault();
        var handshake = chain.Any(e => e.Message.Contains("HTTP/2 handshake", StringComparison.OrdinalIgnoreCase));
        var root = chain[^1];
        var https = endpoint.Scheme == "https";
        var reason = ex is HttpRequestException hre ? hre.HttpRequestError : HttpRequestError.Unknown;
        var clientCertHint = _clientCertificate is null
            ? "this usually means etcd requires a client certificate (--client-cert-auth) and none was given: pass --cert and --key signed by etcd's --trusted-ca-file"
            : "this usually means etcd rejected the client certificate: check that --cert is signed by etcd's --trusted-ca-file and has not expired";
        var (message, hint, notSent) = (socket, auth) switch
        {
            ({ SocketErrorCode: SocketError.ConnectionRefused }, _) =>
                ($"cannot connect to etcd at {name}: connection refused",
                 "check that etcd is running and that --endpoints names its client URL", true),
            ({ SocketErrorCode: SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData }, _) =>
                ($"cannot resolve the host of {name}", "check the host name in --endpoints", true),
            // A TLS failure wins over the socket error it may carry (a reset during the handshake).
            (_, not null) when https && auth.Message.Contains("certificate", StringComparison.OrdinalIgnoreCase) =>
                ($"TLS with {name} failed: {auth.Message}",
                 "pass --cacert with the CA that signed etcd's server certificate, and check the host name it was issued for", true),
            (_, not null) when https =>
                ($"TLS with {name} failed: {auth.Message}",
                 "if etcd serves plain HTTP on that port, use http://; otherwise check --cacert/--cert/--key", true),
            (not null, _) when https && reason == HttpRequestError.SecureConnectionError =>
                ($"TLS with {name} failed: {socket.Message}",
                 "if etcd serves plain HTTP on that port, use http://; otherwise check --cacert/--cert/--key", true),
            // TLS 1.3: etcd refuses the client's certificate after the client considers the handshake done, and a
            // reset under the first request is how that refusal sometimes arrives.
            (not null, _) when https && socket.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted =>
                ($"etcd at {name} reset the TLS connection before answering ({socket.Message})", clientCertHint, true),
            (not null, _) when !handshake =>
                ($"cannot connect to etcd at {name}: {socket.Message}",
                 https ? "check that etcd is running and reachable; if it serves plain HTTP on that port, use http://" : "check that etcd is running and reachable",
                 true),
            _ when reason == HttpRequestError.NameResolutionError =>
                ($"cannot resolve the host of {name}", "check the host name in --endpoints", true),
            _ when handshake && https =>
                ($"etcd at {name} did not complete the HTTP/2 handshake", clientCertHint, true),
            _ when handshake =>
                ($"{name} did not complete the HTTP/2 handshake",
                 "if etcd serves TLS on that port, use https:// (with --cacert and, if it asks for one, --cert/--key)", true),
            _ when reason == HttpRequestError.SecureConnectionError =>
                ($"TLS with {name} failed: {root.Message}",
                 "if etcd serves plain HTTP on that port, use http://; otherwise check --cacert/--cert/--key", true),
            _ when reason == HttpRequestError.ConnectionError =>
                ($"cannot connect to etcd at {name}: {root.Message}", "check that etcd is running and reachable", true),
            // With TLS 1.3 the server checks the client's certificate after the client thinks the handshake is done, so
            // a refused or missing certificate shows as the connection failing under the first bytes of HTTP/2, in any
            // of several shapes (an OpenSSL "error - 5", a reset, an early end), rather than as an authentication error.
            _ when https && chain.Any(e => e is IOException) =>
                ($"etcd at {name} closed the TLS connection before answering ({root.Message})", clientCertHint, true),
            _ => ($"{method} to {name} failed: {root.Message}",
                  https ? "check the TLS settings (--cacert/--cert/--key) and that etcd is healthy" : "check that etcd is healthy; if it serves TLS, use https://",
                  false),
        };
        return new EtcdException(GrpcStatusCode.Unavailable, message, hint, name, ex) { NotSent = notSent };
    }

    /// <summary>Opens the TCP connection, with a read-ahead buffer under HTTP/2 (and under TLS, which the handler adds).</summary>
    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new ReadAheadStream(new NetworkStream(socket, ownsSocket: true));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private bool ValidateServerCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) =>
        CustomRootTrust.Validate(certificate, errors, _trustedCas);

    private static (X509Certificate2? Client, X509Certificate2Collection? Cas) LoadTls(EtcdClientOptions options)
    {
        X509Certificate2Collection? cas = null;
        if (options.CaCertificateFile is { } caFile)
        {
            cas = [];
            try
            {
                cas.ImportFromPemFile(caFile);
            }
            catch (System.Security.Cryptography.CryptographicException ex)
            {
                throw new ArgumentException($"--cacert '{caFile}' is not a PEM certificate file: {ex.Message}", ex);
            }

            if (cas.Count == 0)
            {
                throw new ArgumentException($"--cacert '{caFile}' holds no certificate");
            }
        }

        X509Certificate2? client = null;
        if (options.ClientCertificateFile is { } certFile && options.ClientKeyFile is { } keyFile)
        {
            try
            {
                client = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            }
            catch (System.Security.Cryptography.CryptographicException ex)
            {
                throw new ArgumentException($"cannot load the client certificate --cert '{certFile}' with --key '{keyFile}': {ex.Message}", ex);
            }
        }

        return (client, cas);
    }

    public void Dispose()
    {
        _http.Dispose();
        _authenticating.Dispose();
        _clientCertificate?.Dispose();
        if (_trustedCas is not null)
        {
            foreach (var ca in _trustedCas)
            {
                ca.Dispose();
            }
        }
    }
}
