using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lifeboat.Kubernetes.Models;

/// <summary>
/// What every Kubernetes object has: <c>apiVersion</c>, <c>kind</c>, <c>metadata</c>. Typed models add the fields
/// Lifeboat uses; the rest of the object rides along in <see cref="Extra"/> and is written back unchanged.
/// </summary>
public abstract class KubeObject
{
    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    public ObjectMeta Metadata { get; set; } = new();

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary><c>namespace/name</c>, or the name of a cluster-scoped object.</summary>
    [JsonIgnore]
    public string FullName => Metadata.Namespace is { Length: > 0 } ns ? $"{ns}/{Metadata.Name}" : Metadata.Name ?? "";
}

/// <summary>Any object, for callers that only need its metadata (or read the rest from <see cref="KubeObject.Extra"/>).</summary>
public sealed class GenericObject : KubeObject;

/// <summary>A list as the API returns it.</summary>
public sealed class KubeList<T>
    where T : class
{
    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    public ListMeta Metadata { get; set; } = new();

    public List<T> Items { get; set; } = [];
}

/// <summary>meta/v1 Status: what the API answers on failure (and on some deletes).</summary>
public sealed class Status
{
    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    /// <summary><c>Success</c> or <c>Failure</c>.</summary>
    [JsonPropertyName("status")]
    public string? Outcome { get; set; }

    public string? Message { get; set; }

    /// <summary>Machine-readable reason: NotFound, AlreadyExists, Conflict, Forbidden, Unauthorized, Invalid, Expired, Gone…</summary>
    public string? Reason { get; set; }

    public int Code { get; set; }

    public StatusDetails? Details { get; set; }
}

public sealed class StatusDetails
{
    public string? Name { get; set; }

    public string? Group { get; set; }

    public string? Kind { get; set; }

    public List<StatusCause>? Causes { get; set; }
}

public sealed class StatusCause
{
    public string? Reason { get; set; }

    public string? Message { get; set; }

    public string? Field { get; set; }
}
