using k8s;
using k8s.Models;

namespace Lifeboat.Kubernetes.Client;

/// <summary>Query parameters of a list.</summary>
public sealed record ListOptions
{
    /// <summary>e.g. <c>app=db,tier!=cache,env in (a,b),!legacy</c>.</summary>
    public string? LabelSelector { get; init; }

    /// <summary>e.g. <c>metadata.name=x</c>.</summary>
    public string? FieldSelector { get; init; }

    /// <summary>Page size; the server returns <c>continue</c> when there is more.</summary>
    public int? Limit { get; init; }

    public string? Continue { get; init; }

    public string? ResourceVersion { get; init; }
}

/// <summary>Query parameters of a watch.</summary>
public sealed record WatchOptions
{
    /// <summary>Events after this version (normally a list's); null starts from "now" with synthetic ADDED events.</summary>
    public string? ResourceVersion { get; init; }

    public string? LabelSelector { get; init; }

    public string? FieldSelector { get; init; }

    /// <summary>Ask for BOOKMARK events, which move the resourceVersion on without an object change.</summary>
    public bool AllowBookmarks { get; init; } = true;

    /// <summary>Server-side end of the watch; the caller then watches again from the last version.</summary>
    public int? TimeoutSeconds { get; init; }
}

/// <summary>A PATCH body and its type.</summary>
public sealed record KubePatch(V1Patch.PatchType Type, string Body)
{
    /// <summary>RFC 7386 JSON merge patch: objects merge, lists are replaced, null deletes.</summary>
    public static KubePatch Merge(string body) => new(V1Patch.PatchType.MergePatch, body);

    /// <summary>RFC 6902 JSON patch: a list of operations (add, remove, replace, test…).</summary>
    public static KubePatch Json(string body) => new(V1Patch.PatchType.JsonPatch, body);
}

/// <summary>Options of a delete.</summary>
public sealed record DeleteOptions
{
    /// <summary><c>Background</c>, <c>Foreground</c> or <c>Orphan</c>.</summary>
    public string? PropagationPolicy { get; init; }

    /// <summary>Delete only if the object still has this uid (not a newer object of the same name).</summary>
    public string? PreconditionUid { get; init; }

    /// <summary>Delete only if the object is still at this version.</summary>
    public string? PreconditionResourceVersion { get; init; }

    public bool DryRun { get; init; }
}

/// <summary>One event of a watch.</summary>
public sealed record WatchEvent<T>(string Type, T? Item, V1Status? Error)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    public const string Added = "ADDED";
    public const string Modified = "MODIFIED";
    public const string Deleted = "DELETED";
    public const string Bookmark = "BOOKMARK";
}
