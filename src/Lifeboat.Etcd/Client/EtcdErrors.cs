using Grpc.Core;

namespace Lifeboat.Etcd.Client;

/// <summary>Turns a gRPC status from etcd into a typed exception with a hint for the errors users meet.</summary>
internal static class EtcdErrors
{
    public static EtcdException FromStatus(StatusCode code, string message, string method, string endpoint)
    {
        if (message.Contains("required revision has been compacted", StringComparison.Ordinal))
        {
            return new EtcdCompactedException(0, 0, endpoint);
        }

        var hint = code switch
        {
            _ when message.Contains("no leader", StringComparison.Ordinal) =>
                "the etcd cluster has no leader: check that a quorum of members is running",
            _ when message.Contains("request is too large", StringComparison.Ordinal)
                   || message.Contains("larger than max", StringComparison.Ordinal) =>
                "the request exceeds etcd's --max-request-bytes; write less per request",
            _ when message.Contains("future revision", StringComparison.Ordinal) =>
                "the revision asked for is newer than etcd's current revision",
            _ when message.Contains("user name is empty", StringComparison.Ordinal) =>
                "etcd has authentication enabled: pass --user NAME --password-file FILE, or a client certificate whose common name is a user",
            _ when message.Contains("authentication failed", StringComparison.Ordinal) =>
                "check --user and the password in --password-file",
            StatusCode.Unauthenticated or StatusCode.PermissionDenied =>
                "etcd has authentication enabled and refused this client: use a client certificate whose common name is a user with the needed role",
            StatusCode.Unimplemented => $"the server does not implement {method}; Lifeboat needs etcd 3.4 or newer",
            StatusCode.Unavailable => "etcd is unavailable; try again",
            _ => null,
        };
        var text = string.IsNullOrEmpty(message) ? code.ToString() : message;
        return new EtcdException(code, $"etcd at {endpoint} refused {method}: {text}", hint, endpoint);
    }
}
