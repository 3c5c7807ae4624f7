using System.Text.Json;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Lifeboat.Kubernetes.Models;

/// <summary>
/// An object of a kind KubernetesClient has no model for (the snapshot CRDs, workloads read whatever their kind),
/// as the library's <see cref="IKubernetesObject{TMetadata}"/>. Fields Lifeboat does not model are kept as read
/// (<see cref="Extra"/>), so that a read-modify-write does not drop them.
/// </summary>
public abstract class KubeObject : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string? ApiVersion { get; set; }

    [JsonPropertyName("kind")]
    public string? Kind { get; set; }

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>Any object, when only its metadata matters.</summary>
public sealed class GenericObject : KubeObject;

/// <summary>One page of any list. The library types each list separately (<c>V1PodList</c>…); generic calls need one shape.</summary>
public sealed class KubeList<T>
    where T : class
{
    [JsonPropertyName("apiVersion")]
    public string? ApiVersion { get; set; }

    [JsonPropertyName("kind")]
    public string? Kind { get; set; }

    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();

    [JsonPropertyName("items")]
    public List<T> Items { get; set; } = [];
}

/// <summary>Small readings of the library's object metadata that Lifeboat repeats.</summary>
public static class ObjectMetaReading
{
    /// <summary><c>namespace/name</c>, or the name of a cluster-scoped object.</summary>
    public static string FullName(this IMetadata<V1ObjectMeta> item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return item.Metadata?.NamespaceProperty is { Length: > 0 } ns ? $"{ns}/{item.Metadata.Name}" : item.Metadata?.Name ?? "";
    }

    public static string? Label(this V1ObjectMeta meta, string key) =>
        meta?.Labels is { } labels && labels.TryGetValue(key, out var value) ? value : null;

    public static string? Annotation(this V1ObjectMeta meta, string key) =>
        meta?.Annotations is { } annotations && annotations.TryGetValue(key, out var value) ? value : null;

    /// <summary>A metadata time as the instant it is (the library reads them as UTC <see cref="DateTime"/>s).</summary>
    public static DateTimeOffset? Instant(this DateTime? time) =>
        time is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)) : null;
}
