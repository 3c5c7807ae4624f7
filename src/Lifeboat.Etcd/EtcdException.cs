using Lifeboat.Core.Errors;
using Lifeboat.Etcd.Grpc;

namespace Lifeboat.Etcd;

/// <summary>
/// An etcd call failed: etcd answered with a gRPC error, or it could not be reached, or the connection broke.
/// Transport failures are reported as <see cref="GrpcStatusCode.Unavailable"/>, as gRPC clients do.
/// </summary>
public class EtcdException : LifeboatException
{
    public EtcdException(GrpcStatusCode statusCode, string message, string? hint, string? endpoint, Exception? innerException = null)
        : base(message, hint, innerException)
    {
        StatusCode = statusCode;
        Endpoint = endpoint;
    }

    public GrpcStatusCode StatusCode { get; }

    /// <summary>The endpoint that failed, when one is known.</summary>
    public string? Endpoint { get; }

    /// <summary>
    /// True for failures that may pass: etcd unreachable or restarting, no leader, a leader change, too many requests,
    /// a deadline. False for bad requests, permission problems and data errors.
    /// </summary>
    public override bool IsTransient => StatusCode is GrpcStatusCode.Unavailable or GrpcStatusCode.DeadlineExceeded or GrpcStatusCode.Aborted
        || (StatusCode == GrpcStatusCode.ResourceExhausted && Message.Contains("too many requests", StringComparison.Ordinal));

    /// <summary>True when no response was received at all (connection refused, TLS failure, DNS), so the request had no effect.</summary>
    public bool NotSent { get; init; }
}
