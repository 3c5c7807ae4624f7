using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lifeboat.Kubernetes.Models;

/// <summary>core/v1 PersistentVolumeClaim: the fields Lifeboat reads and writes.</summary>
public sealed class PersistentVolumeClaim : KubeObject
{
    public PersistentVolumeClaimSpec Spec { get; set; } = new();

    public PersistentVolumeClaimStatus? Status { get; set; }
}

public sealed class PersistentVolumeClaimSpec
{
    public List<string>? AccessModes { get; set; }

    public string? StorageClassName { get; set; }

    /// <summary><c>Filesystem</c> (the default when absent) or <c>Block</c>.</summary>
    public string? VolumeMode { get; set; }

    public string? VolumeName { get; set; }

    public ResourceRequirements? Resources { get; set; }

    public TypedLocalObjectReference? DataSource { get; set; }

    public TypedObjectReference? DataSourceRef { get; set; }

    public LabelSelector? Selector { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class PersistentVolumeClaimStatus
{
    /// <summary><c>Pending</c>, <c>Bound</c> or <c>Lost</c>.</summary>
    public string? Phase { get; set; }

    public List<string>? AccessModes { get; set; }

    public Dictionary<string, string>? Capacity { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class ResourceRequirements
{
    public Dictionary<string, string>? Requests { get; set; }

    public Dictionary<string, string>? Limits { get; set; }
}

public sealed record TypedLocalObjectReference
{
    public string? ApiGroup { get; init; }

    public required string Kind { get; init; }

    public required string Name { get; init; }
}

public sealed record TypedObjectReference
{
    public string? ApiGroup { get; init; }

    public required string Kind { get; init; }

    public required string Name { get; init; }

    public string? Namespace { get; init; }
}

/// <summary>meta/v1 LabelSelector.</summary>
public sealed class LabelSelector
{
    public Dictionary<string, string>? MatchLabels { get; set; }

    public List<LabelSelectorRequirement>? MatchExpressions { get; set; }
}

public sealed class LabelSelectorRequirement
{
    public required string Key { get; set; }

    /// <summary><c>In</c>, <c>NotIn</c>, <c>Exists</c>, <c>DoesNotExist</c>.</summary>
    public required string Operator { get; set; }

    public List<string>? Values { get; set; }
}

/// <summary>storage.k8s.io/v1 StorageClass.</summary>
public sealed class StorageClass : KubeObject
{
    public string? Provisioner { get; set; }

    public Dictionary<string, string>? Parameters { get; set; }

    public string? ReclaimPolicy { get; set; }

    public string? VolumeBindingMode { get; set; }

    public bool? AllowVolumeExpansion { get; set; }
}

/// <summary>core/v1 PersistentVolume (cluster-scoped): which CSI driver serves a claim's volume.</summary>
public sealed class PersistentVolume : KubeObject
{
    public PersistentVolumeSpec Spec { get; set; } = new();

    public PersistentVolumeStatus? Status { get; set; }
}

public sealed class PersistentVolumeSpec
{
    public Dictionary<string, string>? Capacity { get; set; }

    public CsiVolumeSource? Csi { get; set; }

    public ObjectReference? ClaimRef { get; set; }

    public string? StorageClassName { get; set; }

    public string? VolumeMode { get; set; }

    /// <summary><c>Delete</c> or <c>Retain</c>.</summary>
    public string? PersistentVolumeReclaimPolicy { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class CsiVolumeSource
{
    public string? Driver { get; set; }

    public string? VolumeHandle { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class PersistentVolumeStatus
{
    public string? Phase { get; set; }
}
