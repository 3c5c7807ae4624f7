using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Lifeboat.Kubernetes.Client;

namespace Lifeboat.Testing.Kube;

/// <summary>
/// What the real API server checks and defaults on create and update, for the resources Lifeboat writes: object
/// names and label values, the PVC's required fields, its immutable spec, the pvc-protection finalizer and the
/// mirroring of <c>dataSource</c> and <c>dataSourceRef</c>; the VolumeSnapshot CRD's schema and CEL rules
/// (external-snapshotter v8.2, with their messages).
/// </summary>
internal static partial class Admission
{
    public const string PvcProtection = "kubernetes.io/pvc-protection";

    public static void Admit(KubeResource resource, JsonObject item, JsonObject? old)
    {
        var meta = item["metadata"]!.AsObject();
        var name = (string)meta["name"]!;
        var kind = resource.Kind;
        if (old is null && (name.Length > 253 || !Subdomain().IsMatch(name)))
        {
            throw Invalid(kind, name, $"metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
        }

        foreach (var (key, value) in meta["labels"] as JsonObject ?? [])
        {
            var text = (string?)value ?? "";
            if (text.Length > 63 || (text.Length > 0 && !LabelValue().IsMatch(text)))
            {
                throw Invalid(kind, name, $"metadata.labels: Invalid value: \"{text}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, and must be no more than 63 characters (label {key})");
            }
        }

        if (resource == KubeResource.PersistentVolumeClaims)
        {
            AdmitClaim(item, old, name);
        }
        else if (resource == KubeResource.VolumeSnapshots)
        {
            AdmitSnapshot(item, old, name);
        }
    }

    private static void AdmitClaim(JsonObject item, JsonObject? old, string name)
    {
        var spec = item["spec"] as JsonObject ?? throw Invalid("PersistentVolumeClaim", name, "spec: Required value");
        if (old is null)
        {
            if ((spec["accessModes"] as JsonArray)?.Count is not > 0)
            {
                throw Invalid("PersistentVolumeClaim", name, "spec.accessModes: Required value: at least 1 access mode is required");
            }

            if (spec["resources"]?["requests"]?["storage"] is null)
            {
                throw Invalid("PersistentVolumeClaim", name, "spec.resources[storage]: Required value");
            }

            // dataSource and dataSourceRef mirror each other unless dataSourceRef names another namespace.
            if (spec["dataSourceRef"] is JsonObject reference && reference["namespace"] is null && spec["dataSource"] is null)
            {
                spec["dataSource"] = reference.DeepClone();
            }
            else if (spec["dataSource"] is JsonObject source && spec["dataSourceRef"] is null)
            {
                spec["dataSourceRef"] = source.DeepClone();
            }

            var finalizers = item["metadata"]!["finalizers"] as JsonArray ?? [];
            if (!finalizers.Any(f => (string?)f == PvcProtection))
            {
                finalizers.Add(PvcProtection);
            }

            item["metadata"]!["finalizers"] = finalizers.DeepClone();
            return;
        }

        // Immutable once created, except the requested size and the binding the PV controller makes.
        var was = (JsonObject)old["spec"]!.DeepClone();
        var now = (JsonObject)spec.DeepClone();
        if (string.IsNullOrEmpty((string?)was["volumeName"]))
        {
            was.Remove("volumeName");
            now.Remove("volumeName");
        }

        (was["resources"] as JsonObject)?.Remove("requests");
        (now["resources"] as JsonObject)?.Remove("requests");
        if (!JsonNode.DeepEquals(was, now))
        {
            throw Invalid("PersistentVolumeClaim", name,
                "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims");
        }
    }

    private static void AdmitSnapshot(JsonObject item, JsonObject? old, string name)
    {
        var source = item["spec"]?["source"] as JsonObject ?? throw Invalid("VolumeSnapshot", name, "spec.source: Required value");
        var claim = source["persistentVolumeClaimName"];
        var content = source["volumeSnapshotContentName"];
        if ((claim is null) == (content is null))
        {
            throw Invalid("VolumeSnapshot", name, "spec.source: Invalid value: \"object\": exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set");
        }

        if (item["spec"]?["volumeSnapshotClassName"] is { } className && ((string?)className ?? "").Length == 0)
        {
            throw Invalid("VolumeSnapshot", name, "spec.volumeSnapshotClassName: Invalid value: \"string\": volumeSnapshotClassName must not be the empty string when set");
        }

        if (old?["spec"]?["source"] is JsonObject was)
        {
            if (was["persistentVolumeClaimName"] is not null && !JsonNode.DeepEquals(was["persistentVolumeClaimName"], claim))
            {
                throw Invalid("VolumeSnapshot", name, "spec.source.persistentVolumeClaimName: Invalid value: \"string\": persistentVolumeClaimName is immutable");
            }

            if (was["volumeSnapshotContentName"] is not null && !JsonNode.DeepEquals(was["volumeSnapshotContentName"], content))
            {
                throw Invalid("VolumeSnapshot", name, "spec.source.volumeSnapshotContentName: Invalid value: \"string\": volumeSnapshotContentName is immutable");
            }
        }
    }

    private static TestApiServer.ApiError Invalid(string kind, string name, string detail) =>
        new(HttpStatusCode.UnprocessableEntity, "Invalid", $"{kind} \"{name}\" is invalid: {detail}");

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Subdomain();

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")]
    private static partial Regex LabelValue();
}
