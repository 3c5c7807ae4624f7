using System.Text.Json.Nodes;

namespace Lifeboat.Kubernetes.Resources;

/// <summary>Removes what the API server owns from an object before it is archived.</summary>
public static class ObjectCleaner
{
    /// <summary>Set by the server on every object; a create refuses some of them and ignores the rest.</summary>
    private static readonly string[] ServerMetadata =
        ["managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"];

    /// <summary>
    /// A copy without server-managed metadata, and without <c>status</c> when the resource has a status subresource
    /// (a create ignores it there, so it cannot be restored; where there is none, status is part of the object and kept).
    /// </summary>
    public static JsonObject Clean(JsonObject item, ServedResource served)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(served);
        var copy = (JsonObject)item.DeepClone();
        if (copy["metadata"] is JsonObject meta)
        {
            foreach (var field in ServerMetadata)
            {
                meta.Remove(field);
            }
        }

        if (served.HasStatus)
        {
            copy.Remove("status");
        }

        copy["apiVersion"] = served.Resource.ApiVersion; // list items from a real server carry neither
        copy["kind"] = served.Resource.Kind;
        return copy;
    }
}
