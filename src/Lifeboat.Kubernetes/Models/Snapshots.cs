using System.Text.Json;
using System.Text.Json.Serialization;
using k8s.Models;

namespace Lifeboat.Kubernetes.Models;

/// <summary>snapshot.storage.k8s.io/v1 VolumeSnapshot (namespaced).</summary>
public sealed class VolumeSnapshot : KubeObject
{
    public VolumeSnapshotSpec Spec { get; set; } = new();

    public VolumeSnapshotStatus? Status { get; set; }
}

public sealed class VolumeSnapshotSpec
{
    public VolumeSnapshotSource Source { get; set; } = new();

    public string? VolumeSnapshotClassName { get; set; }
}

/// <summary>Exactly one of the two is set (immutable).</summary>
public sealed class VolumeSnapshotSource
{
    public string? PersistentVolumeClaimName { get; set; }

    public string? VolumeSnapshotContentName { get; set; }
}

public sealed class VolumeSnapshotStatus
{
    public string? BoundVolumeSnapshotContentName { get; set; }

    /// <summary>When the storage system cut the snapshot: from here on the point in time is fixed.</summary>
    public DateTimeOffset? CreationTime { get; set; }

    public bool? ReadyToUse { get; set; }

    /// <summary>A quantity (e.g. <c>10Gi</c>): the smallest volume it can be restored into.</summary>
    public string? RestoreSize { get; set; }

    /// <summary>The last error; the controller keeps retrying and clears it on success.</summary>
    public VolumeSnapshotError? Error { get; set; }

    public string? VolumeGroupSnapshotName { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class VolumeSnapshotError
{
    public DateTimeOffset? Time { get; set; }

    public string? Message { get; set; }
}

/// <summary>snapshot.storage.k8s.io/v1 VolumeSnapshotContent (cluster-scoped).</summary>
public sealed class VolumeSnapshotContent : KubeObject
{
    public VolumeSnapshotContentSpec Spec { get; set; } = new();

    public VolumeSnapshotContentStatus? Status { get; set; }
}

public sealed class VolumeSnapshotContentSpec
{
    public V1ObjectReference VolumeSnapshotRef { get; set; } = new();

    /// <summary><c>Delete</c> or <c>Retain</c>.</summary>
    public string? DeletionPolicy { get; set; }

    public string? Driver { get; set; }

    public string? VolumeSnapshotClassName { get; set; }

    public VolumeSnapshotContentSource Source { get; set; } = new();

    public string? SourceVolumeMode { get; set; }
}

public sealed class VolumeSnapshotContentSource
{
    public string? VolumeHandle { get; set; }

    public string? SnapshotHandle { get; set; }
}

public sealed class VolumeSnapshotContentStatus
{
    public string? SnapshotHandle { get; set; }

    /// <summary>Unix nanoseconds (unlike the VolumeSnapshot's time).</summary>
    public long? CreationTime { get; set; }

    /// <summary>Bytes (unlike the VolumeSnapshot's quantity).</summary>
    public long? RestoreSize { get; set; }

    public bool? ReadyToUse { get; set; }

    public VolumeSnapshotError? Error { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>snapshot.storage.k8s.io/v1 VolumeSnapshotClass (cluster-scoped; fields at the top level).</summary>
public sealed class VolumeSnapshotClass : KubeObject
{
    /// <summary>The annotation that marks the default class of a CSI driver.</summary>
    public const string DefaultClassAnnotation = "snapshot.storage.kubernetes.io/is-default-class";

    public string? Driver { get; set; }

    public Dictionary<string, string>? Parameters { get; set; }

    public string? DeletionPolicy { get; set; }

    [JsonIgnore]
    public bool IsDefault => string.Equals(Metadata.Annotation(DefaultClassAnnotation), "true", StringComparison.OrdinalIgnoreCase);
}
