using System.Text.Json.Serialization;

namespace Lifeboat.Kubernetes.Resources;

/// <summary>
/// What a resource backup holds and how it went: written into the archive (<c>metadata/backup.json</c>) and next to it
/// in the store, so that list and describe need not read archives.
/// </summary>
public sealed record BackupManifest
{
    public const int CurrentFormat = 1;
    public const string Completed = "Completed";
    public const string PartiallyFailed = "PartiallyFailed";

    public int FormatVersion { get; init; } = CurrentFormat;

    public required string Name { get; init; }

    /// <summary>The schedule that took it, or null for one taken by hand.</summary>
    public string? Schedule { get; init; }

    /// <summary><see cref="Completed"/>, or <see cref="PartiallyFailed"/> when anything selected could not be read (see <see cref="Errors"/>).</summary>
    public required string Phase { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset CompletedAt { get; init; }

    /// <summary>The API server backed up, without credentials.</summary>
    public string? Server { get; init; }

    public string? ServerVersion { get; init; }

    public string? LifeboatVersion { get; init; }

    public required BackupFilterRecord Filters { get; init; }

    /// <summary>The namespaces whose objects were backed up.</summary>
    public List<string> Namespaces { get; init; } = [];

    public List<ResourceCount> Resources { get; init; } = [];

    public int TotalItems { get; init; }

    /// <summary>Objects left out because they carry <c>lifeboat.io/exclude-from-backup=true</c>.</summary>
    public int ExcludedByLabel { get; init; }

    public List<BackupProblem> Warnings { get; init; } = [];

    public List<BackupProblem> Errors { get; init; } = [];

    /// <summary>The archive's key in the store (set in the copy stored beside it).</summary>
    public string? ArchiveKey { get; init; }

    /// <summary>The archive's size as stored.</summary>
    public long ArchiveSize { get; init; }

    [JsonIgnore]
    public bool Partial => Phase != Completed;
}

/// <summary>The filters a backup was taken with, as given.</summary>
public sealed record BackupFilterRecord
{
    public List<string> IncludeNamespaces { get; init; } = ["*"];

    public List<string> ExcludeNamespaces { get; init; } = [];

    public List<string> IncludeResources { get; init; } = ["*"];

    public List<string> ExcludeResources { get; init; } = [];

    public string? LabelSelector { get; init; }

    public string IncludeClusterResources { get; init; } = "auto";
}

/// <summary>How many objects of one resource were backed up, in total and per namespace.</summary>
public sealed record ResourceCount
{
    /// <summary><c>plural.group</c> (the plural alone in the core group).</summary>
    public required string Resource { get; init; }

    public required string ApiVersion { get; init; }

    public required string Kind { get; init; }

    public bool Namespaced { get; init; }

    public int Count { get; init; }

    public SortedDictionary<string, int> PerNamespace { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>A warning or error, with where it happened (<c>namespace x</c>, <c>resource y</c>, <c>resource y in namespace x</c>, <c>discovery</c>).</summary>
public sealed record BackupProblem(string Scope, string Message)
{
    public override string ToString() => $"{Scope}: {Message}";
}
