using Grpc.Core;
using Lifeboat.Core.Errors;

namespace Lifeboat.Etcd;

/// <summary>
/// An etcd call failed: etcd answered with a gRPC error, or it could not be reached, or the connection broke.
/// Transport failures are reported as <see cref="StatusCode.Unavailable"/>, as gRPC clients do.
/// </summary>
public class EtcdException : LifeboatException
{
    public EtcdException(StatusCode statusCode, string message, string? hint, string? endpoint, Exception? innerException = null)
        : base(message, hint, innerException)
    {
        StatusCode = statusCode;
        Endpoint = endpoint;
    }

    public StatusCode StatusCode { get; }

    /// <summary>The endpoint that failed, when one is known.</summary>
    public string? Endpoint { get; }

    /// <summary>
    /// True for failures that may pass: etcd unreachable or restarting, no leader, a leader change, too many requests,
    /// a deadline. False for bad requests, permission problems and data errors.
    /// </summary>
    public override bool IsTransient => StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Aborted
        || (StatusCode == StatusCode.ResourceExhausted && Message.Contains("too many requests", StringComparison.Ordinal));

    /// <summary>True when no response was received at all (connection refused, TLS failure, DNS), so the request had no effect.</summary>
    public bool NotSent { get; init; }
}
