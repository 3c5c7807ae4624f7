using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lifeboat.Kubernetes.Models;

/// <summary>
/// <c>metadata</c> of every Kubernetes object (meta/v1 ObjectMeta). Fields Lifeboat does not use are kept in
/// <see cref="Extra"/>, so that an object read, changed and written back loses nothing.
/// </summary>
public sealed class ObjectMeta
{
    public string? Name { get; set; }

    public string? GenerateName { get; set; }

    public string? Namespace { get; set; }

    public string? Uid { get; set; }

    public string? ResourceVersion { get; set; }

    public long? Generation { get; set; }

    public DateTimeOffset? CreationTimestamp { get; set; }

    public DateTimeOffset? DeletionTimestamp { get; set; }

    public Dictionary<string, string>? Labels { get; set; }

    public Dictionary<string, string>? Annotations { get; set; }

    public List<OwnerReference>? OwnerReferences { get; set; }

    public List<string>? Finalizers { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The label's value, or null.</summary>
    public string? Label(string key) => Labels is { } labels && labels.TryGetValue(key, out var value) ? value : null;

    /// <summary>The annotation's value, or null.</summary>
    public string? Annotation(string key) => Annotations is { } annotations && annotations.TryGetValue(key, out var value) ? value : null;
}

/// <summary>meta/v1 OwnerReference.</summary>
public sealed record OwnerReference
{
    public required string ApiVersion { get; init; }

    public required string Kind { get; init; }

    public required string Name { get; init; }

    public required string Uid { get; init; }

    public bool? Controller { get; init; }

    public bool? BlockOwnerDeletion { get; init; }
}

/// <summary>The <c>metadata</c> of a list: where it was read (<see cref="ResourceVersion"/>) and how to go on.</summary>
public sealed class ListMeta
{
    public string? ResourceVersion { get; set; }

    public string? Continue { get; set; }

    public long? RemainingItemCount { get; set; }
}
