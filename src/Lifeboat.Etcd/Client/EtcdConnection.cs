using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Lifeboat.Core.Net;
using Lifeboat.Etcd.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeboat.Etcd.Client;

/// <summary>
/// etcd's endpoints as grpc-dotnet channels: one <see cref="GrpcChannel"/> per endpoint over one shared
/// <see cref="SocketsHttpHandler"/> (TLS and client certificates, HTTP/2 keepalive pings, stream windows). Calls carry
/// their deadline and the user's token, fail over to the next endpoint while a failure shows the request never reached
/// a server, and come back as <see cref="EtcdException"/>s that say what went wrong and how to fix it.
/// </summary>
/// <remarks>
/// The failover loop is Lifeboat's rather than grpc-dotnet's <c>pick_first</c> balancer: per-member calls (Status,
/// HashKV, Defragment on a named member) need a channel per endpoint anyway, an error must name the endpoint that
/// failed, and a balanced channel has one scheme and one TLS host name while <c>--endpoints</c> may mix them.
/// Thread-safe: one instance serves concurrent calls.
/// </remarks>
internal sealed class EtcdConnection : IDisposable
{
    /// <summary>
    /// Each stream's HTTP/2 receive window. 2 MiB keeps a snapshot stream moving at etcd's pace on loopback and LAN;
    /// 8 MiB was no faster (3.5-3.6 s per GB either way) but, when the consumer was slower than etcd (compressing),
    /// held up to 8 MiB more per stream, ~40 MiB more peak memory per GB.
    /// </summary>
    private const int StreamWindowBytes = 2 * 1024 * 1024;

    private readonly EtcdClientOptions _options;
    private readonly SocketsHttpHandler _handler;
    private readonly ConcurrentDictionary<Uri, GrpcChannel> _channels = new();
    private readonly ILogger _logger;
    private readonly X509Certificate2? _clientCertificate;
    private readonly X509Certificate2Collection? _trustedCas;
    private readonly SemaphoreSlim _authenticating = new(1, 1);
    private volatile string? _token;
    private int _current;

    public EtcdConnection(EtcdClientOptions options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        (_clientCertificate, _trustedCas) = LoadTls(options);
        _handler = new SocketsHttpHandler
        {
            ConnectTimeout = options.DialTimeout,
            // grpc-dotnet's keepalive is the handler's: pings while calls are open, so a dead peer under a long watch is
            // noticed within delay + timeout instead of at the next TCP timeout.
            KeepAlivePingDelay = options.KeepAliveInterval,
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            EnableMultipleHttp2Connections = true,
            InitialHttp2StreamWindowSize = StreamWindowBytes,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
            // etcd is reached inside the cluster: an HTTP(S)_PROXY meant for the outside must not carry its traffic.
            UseProxy = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => CustomRootTrust.Validate(certificate, errors, _trustedCas),
            },
        };
        if (_clientCertificate is not null)
        {
            _handler.SslOptions.ClientCertificates = [_clientCertificate];
            _handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => _clientCertificate;
        }
    }

    public EtcdClientOptions Options => _options;

    /// <summary>The endpoint calls go to first; moves on when it cannot be reached.</summary>
    public Uri CurrentEndpoint => _options.Endpoints[Volatile.Read(ref _current) % _options.Endpoints.Count];

    /// <summary>One request, one response, within <paramref name="timeout"/> (the command timeout when null).</summary>
    /// <param name="endpoint">A specific endpoint (no failover), or null for the current one with failover.</param>
    public async Task<TResponse> UnaryAsync<TResponse>(string method, Func<CallInvoker, CallOptions, AsyncUnaryCall<TResponse>> start,
        TimeSpan? timeout, Uri? endpoint, CancellationToken cancellationToken)
    {
        var limit = timeout ?? _options.CommandTimeout;
        var (call, target) = await StartAsync(method, endpoint, limit, start, c => c.ResponseHeadersAsync, cancellationToken);
        using (call)
        {
            try
            {
                return await call.ResponseAsync;
            }
            catch (RpcException ex)
            {
                throw Translate(ex, target, method, answered: true, limit);
            }
        }
    }

    /// <summary>One request, then the responses as etcd streams them. No deadline: cancel to stop.</summary>
    public async Task<Stream<TResponse>> ServerStreamingAsync<TResponse>(string method,
        Func<CallInvoker, CallOptions, AsyncServerStreamingCall<TResponse>> start, Uri? endpoint, CancellationToken cancellationToken)
    {
        var (call, target) = await StartAsync(method, endpoint, null, start, c => c.ResponseHeadersAsync, cancellationToken);
        return new Stream<TResponse>(call, target, ex => Translate(ex, target, method, answered: true, null));
    }

    /// <summary>
    /// Opens a bidirectional stream with <paramref name="first"/> written, once etcd has answered it with its headers
    /// (etcd sends them with its first message). Dispose the call to end it: that resets the HTTP/2 stream.
    /// </summary>
    public async Task<DuplexCall<TRequest, TResponse>> DuplexAsync<TRequest, TResponse>(string method,
        Func<CallInvoker, CallOptions, AsyncDuplexStreamingCall<TRequest, TResponse>> start, TRequest first, Uri? endpoint,
        CancellationToken cancellationToken)
    {
        var (call, target) = await StartAsync(method, endpoint, null, start, async c =>
        {
            try
            {
                await c.RequestStream.WriteAsync(first, cancellationToken);
            }
            catch (InvalidOperationException)
            {
                // The call already ended ("the call is complete"): its status says why.
                await c.ResponseHeadersAsync;
                throw;
            }

            return await c.ResponseHeadersAsync;
        }, cancellationToken);
        return new DuplexCall<TRequest, TResponse>(call, target.ToString(), ex => Translate(ex, target, method, answered: true, null));
    }

    /// <summary>
    /// Starts a call and waits until etcd answered it, with the token when a user is configured (getting a new one once
    /// when etcd says it went stale), failing over to the next endpoint while the request provably never arrived.
    /// </summary>
    private async Task<(TCall Call, Uri Endpoint)> StartAsync<TCall>(string method, Uri? endpoint, TimeSpan? limit,
        Func<CallInvoker, CallOptions, TCall> start, Func<TCall, Task<Metadata>> answered, CancellationToken cancellationToken)
        where TCall : IDisposable
    {
        // grpc-dotnet takes an absolute deadline and measures it on the system clock, so this one is the system's too.
        var deadline = limit is { } l ? TimeProvider.System.GetUtcNow().UtcDateTime + l : (DateTime?)null;
        var authenticates = _options.Username is not null && method != AuthenticateMethod;
        if (authenticates && _token is null)
        {
            await AuthenticateAsync(null, endpoint, cancellationToken);
        }

        try
        {
            return await StartOnEndpointsAsync(method, endpoint, deadline, limit, start, answered, cancellationToken);
        }
        catch (EtcdException ex) when (authenticates && IsStaleToken(ex))
        {
            // Simple tokens expire (etcd's --auth-token-ttl, 5 min by default) and are dropped when the auth store
            // changes: get a new one and send once more.
            await AuthenticateAsync(_token, endpoint, cancellationToken);
            return await StartOnEndpointsAsync(method, endpoint, deadline, limit, start, answered, cancellationToken);
        }
    }

    private async Task<(TCall Call, Uri Endpoint)> StartOnEndpointsAsync<TCall>(string method, Uri? endpoint, DateTime? deadline, TimeSpan? limit,
        Func<CallInvoker, CallOptions, TCall> start, Func<TCall, Task<Metadata>> answered, CancellationToken cancellationToken)
        where TCall : IDisposable
    {
        var attempts = endpoint is null ? _options.Endpoints.Count : 1;
        var headers = _token is { Length: > 0 } token && method != AuthenticateMethod
            ? new Metadata { { "token", token } } // etcd reads the user's token from this metadata
            : null;
        var options = new CallOptions(headers, deadline, cancellationToken);
        for (var attempt = 0; ; attempt++)
        {
            var first = Volatile.Read(ref _current);
            var target = endpoint ?? _options.Endpoints[first % _options.Endpoints.Count];
            var call = start(Channel(target).CreateCallInvoker(), options);
            try
            {
                await answered(call);
                return (call, target);
            }
            catch (RpcException ex)
            {
                call.Dispose();
                var error = Translate(ex, target, method, answered: false, limit);
                if (!error.NotSent || endpoint is not null || attempt + 1 >= attempts)
                {
                    throw error;
                }

                Interlocked.CompareExchange(ref _current, first + 1, first);
                EtcdLog.FailingOver(_logger, target.ToString(), error.Message, CurrentEndpoint.ToString());
            }
            catch
            {
                call.Dispose();
                throw;
            }
        }
    }

    private GrpcChannel Channel(Uri endpoint) => _channels.GetOrAdd(endpoint, e => GrpcChannel.ForAddress(e, new GrpcChannelOptions
    {
        HttpHandler = _handler,
        DisposeHttpClient = false, // the handler is shared by every endpoint's channel and disposed with this object
        MaxReceiveMessageSize = _options.MaxReceiveMessageBytes,
        MaxSendMessageSize = null,
        ThrowOperationCanceledOnCancellation = true,
    }));

    /// <summary>etcd's Authenticate call: the one call made without a token.</summary>
    private const string AuthenticateMethod = "/etcdserverpb.Auth/Authenticate";

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
                var request = new AuthenticateRequest { Name = _options.Username, Password = _options.Password };
                var response = await UnaryAsync(AuthenticateMethod,
                    (invoker, options) => new Auth.AuthClient(invoker).AuthenticateAsync(request, options), null, endpoint, cancellationToken);
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

    /// <summary>
    /// A grpc-dotnet failure as Lifeboat reports it. <paramref name="answered"/> tells a connection that broke mid-call
    /// (the request may have had its effect) from one that never carried the request (safe to send elsewhere).
    /// </summary>
    private EtcdException Translate(RpcException ex, Uri endpoint, string method, bool answered, TimeSpan? limit)
    {
        var name = endpoint.ToString();
        var transport = ex.Status.DebugException;
        if (ex.StatusCode == StatusCode.DeadlineExceeded && limit is { } l)
        {
            return new EtcdException(StatusCode.DeadlineExceeded, $"{method} to {name} did not answer within {l.TotalSeconds:0.#} s",
                "etcd may be overloaded or without a leader; check its health and try again", name, ex);
        }

        if (transport is HttpRequestException or IOException or AuthenticationException or SocketException)
        {
            return answered
                ? new EtcdException(StatusCode.Unavailable, $"the connection to {name} broke mid-call: {transport.Message}",
                    "etcd may have stopped or restarted; try again", name, ex)
                : Describe(transport, endpoint, method);
        }

        if (ex.StatusCode == StatusCode.ResourceExhausted && ex.Status.Detail.StartsWith("Received message exceeds", StringComparison.Ordinal))
        {
            // grpc-dotnet's own limit (GrpcChannelOptions.MaxReceiveMessageSize), not etcd's.
            return new EtcdException(StatusCode.ResourceExhausted,
                $"{name} sent a {method} response above the receive limit of {_options.MaxReceiveMessageBytes} bytes",
                "raise the receive limit (--max-recv-bytes) or ask for less per request (a smaller range or limit)", name, ex);
        }

        if (ex.Status.Detail.StartsWith("Bad gRPC response", StringComparison.Ordinal))
        {
            var hint = ex.Status.Detail.Contains("404", StringComparison.Ordinal)
                ? "this is not an etcd v3 gRPC endpoint; check --endpoints"
                : "check that --endpoints names an etcd client URL";
            return new EtcdException(ex.StatusCode, $"{name} answered {method} with something other than gRPC: {ex.Status.Detail}", hint, name, ex);
        }

        return EtcdErrors.FromStatus(ex.StatusCode, ex.Status.Detail, method, name);
    }

    /// <summary>Why a call could not be made: the user's words for the socket, TLS and HTTP/2 errors under it.</summary>
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
        var reason = chain.OfType<HttpRequestException>().FirstOrDefault()?.HttpRequestError ?? HttpRequestError.Unknown;
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
        return new EtcdException(StatusCode.Unavailable, message, hint, name, ex) { NotSent = notSent };
    }

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
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }

        _handler.Dispose();
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

    /// <summary>A server-streaming call's responses, with failures translated; dispose to end the call.</summary>
    public sealed class Stream<TResponse>(AsyncServerStreamingCall<TResponse> call, Uri endpoint, Func<RpcException, EtcdException> translate)
        : IDisposable
    {
        public Uri Endpoint => endpoint;

        /// <summary>The next response, or default when etcd ended the call with status OK.</summary>
        public async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
        {
            try
            {
                return await call.ResponseStream.MoveNext(cancellationToken);
            }
            catch (RpcException ex)
            {
                throw translate(ex);
            }
        }

        public TResponse Current => call.ResponseStream.Current;

        public void Dispose() => call.Dispose();
    }
}
