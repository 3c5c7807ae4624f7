using System.Text.Json;
using System.Text.Json.Serialization;
using k8s.Models;

namespace Lifeboat.Kubernetes.Models;

/// <summary>
/// A Deployment, StatefulSet or ReplicaSet read for what they share (replicas, selector, pod template, claim
/// templates). The library types each kind apart (<see cref="V1Deployment"/>…) and has no common shape; the parts
/// are its types.
/// </summary>
public sealed class Workload : KubeObject
{
    [JsonPropertyName("spec")]
    public WorkloadSpec Spec { get; set; } = new();

    [JsonPropertyName("status")]
    public JsonElement? Status { get; set; }
}

public sealed class WorkloadSpec
{
    [JsonPropertyName("replicas")]
    public int? Replicas { get; set; }

    [JsonPropertyName("selector")]
    public V1LabelSelector? Selector { get; set; }

    [JsonPropertyName("template")]
    public V1PodTemplateSpec? Template { get; set; }

    [JsonPropertyName("volumeClaimTemplates")]
    public List<V1PersistentVolumeClaim>? VolumeClaimTemplates { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}
