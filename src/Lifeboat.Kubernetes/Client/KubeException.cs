using System.Net;
using k8s.Models;
using Lifeboat.Core.Errors;

namespace Lifeboat.Kubernetes.Client;

/// <summary>
/// The Kubernetes API refused or failed a request. <see cref="Exception.Message"/> is the API's own Status message
/// (which names the object, and for RBAC the verb and resource), prefixed by what Lifeboat was doing.
/// </summary>
public class KubeException : LifeboatException
{
    public KubeException(HttpStatusCode statusCode, V1Status? status, string message, string? hint, Exception? inner = null)
        : base(message, hint, inner)
    {
        StatusCode = statusCode;
        Status = status;
    }

    public HttpStatusCode StatusCode { get; }

    /// <summary>The API's Status object, when it sent one.</summary>
    public V1Status? Status { get; }

    /// <summary>The Status reason (NotFound, AlreadyExists, Conflict, Forbidden, Invalid, Expired…), or null.</summary>
    public string? Reason => Status?.Reason;

    public override bool IsTransient => StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable
        or HttpStatusCode.GatewayTimeout or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway;

    /// <summary>Turns an error answer into the matching typed exception.</summary>
    public static KubeException From(HttpStatusCode code, V1Status? status, string doing)
    {
        var said = status?.Message is { Length: > 0 } m ? m : $"HTTP {(int)code} {code}";
        var message = $"{doing}: {said}";
        return code switch
        {
            HttpStatusCode.Unauthorized => new KubeUnauthorizedException(status, message),
            HttpStatusCode.Forbidden => new KubeForbiddenException(status, message),
            HttpStatusCode.NotFound => new KubeNotFoundException(status, message),
            HttpStatusCode.Conflict => new KubeConflictException(status, message),
            HttpStatusCode.Gone => new KubeGoneException(status, message),
            HttpStatusCode.UnprocessableEntity => new KubeInvalidException(status, message),
            _ => new KubeException(code, status, message, null),
        };
    }
}

/// <summary>401: the credentials were not accepted (expired token, wrong certificate).</summary>
public sealed class KubeUnauthorizedException(V1Status? status, string message)
    : KubeException(HttpStatusCode.Unauthorized, status, message, "check the kubeconfig's user, or refresh the token or certificate");

/// <summary>403: the identity lacks a permission; the message names the verb and the resource.</summary>
public sealed class KubeForbiddenException(V1Status? status, string message)
    : KubeException(HttpStatusCode.Forbidden, status, message, "grant that verb on that resource to the identity (Role/ClusterRole and binding)");

/// <summary>404: the object (or the namespace, or the API itself) does not exist.</summary>
public sealed class KubeNotFoundException(V1Status? status, string message)
    : KubeException(HttpStatusCode.NotFound, status, message, null);

/// <summary>409: AlreadyExists on create, or Conflict when the object changed since it was read.</summary>
public sealed class KubeConflictException(V1Status? status, string message)
    : KubeException(HttpStatusCode.Conflict, status, message, null)
{
    public bool AlreadyExists => Reason == "AlreadyExists";
}

/// <summary>410: a watch or list asked for a resourceVersion the server no longer has; list again.</summary>
public sealed class KubeGoneException(V1Status? status, string message)
    : KubeException(HttpStatusCode.Gone, status, message, null);

/// <summary>422: the object failed validation; the causes name the fields.</summary>
public sealed class KubeInvalidException(V1Status? status, string message)
    : KubeException(HttpStatusCode.UnprocessableEntity, status, message, "fix the fields named");
