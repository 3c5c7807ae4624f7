using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lifeboat.Kubernetes.Models;

/// <summary>autoscaling/v1 Scale: the <c>scale</c> subresource of Deployments and StatefulSets.</summary>
public sealed class Scale : KubeObject
{
    public ScaleSpec Spec { get; set; } = new();

    public ScaleStatus? Status { get; set; }
}

public sealed class ScaleSpec
{
    public int? Replicas { get; set; }
}

public sealed class ScaleStatus
{
    public int Replicas { get; set; }

    public string? Selector { get; set; }
}

/// <summary>apps/v1 Deployment or StatefulSet: only what finding a volume's users needs.</summary>
public sealed class Workload : KubeObject
{
    public WorkloadSpec Spec { get; set; } = new();

    public JsonElement? Status { get; set; }
}

public sealed class WorkloadSpec
{
    public int? Replicas { get; set; }

    public LabelSelector? Selector { get; set; }

    public PodTemplate? Template { get; set; }

    /// <summary>StatefulSets: PVCs made per replica from these templates.</summary>
    public List<PersistentVolumeClaim>? VolumeClaimTemplates { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class PodTemplate
{
    public ObjectMeta? Metadata { get; set; }

    public PodSpec? Spec { get; set; }
}

/// <summary>core/v1 Pod.</summary>
public sealed class Pod : KubeObject
{
    public PodSpec Spec { get; set; } = new();

    public PodStatus? Status { get; set; }
}

public sealed class PodSpec
{
    public List<Volume>? Volumes { get; set; }

    public string? NodeName { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class Volume
{
    public string? Name { get; set; }

    public PersistentVolumeClaimVolumeSource? PersistentVolumeClaim { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class PersistentVolumeClaimVolumeSource
{
    public string? ClaimName { get; set; }

    public bool? ReadOnly { get; set; }
}

public sealed class PodStatus
{
    public string? Phase { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>core/v1 Event (what <c>kubectl describe</c> shows under Events).</summary>
public sealed class KubeEvent : KubeObject
{
    public ObjectReference? InvolvedObject { get; set; }

    public string? Reason { get; set; }

    public string? Message { get; set; }

    /// <summary><c>Normal</c> or <c>Warning</c>.</summary>
    public string? Type { get; set; }

    public int? Count { get; set; }

    public DateTimeOffset? FirstTimestamp { get; set; }

    public DateTimeOffset? LastTimestamp { get; set; }

    public DateTimeOffset? EventTime { get; set; }
}
