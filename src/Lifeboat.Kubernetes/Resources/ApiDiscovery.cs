using System.Collections.Concurrent;
using k8s.Models;
using Lifeboat.Kubernetes.Client;

namespace Lifeboat.Kubernetes.Resources;

/// <summary>One resource the API server serves in one group version, as discovery describes it.</summary>
/// <param name="Preferred">The group's preferred version (what backups read and kubectl shows).</param>
/// <param name="HasStatus">It has a <c>status</c> subresource: a create ignores <c>status</c>, so it cannot be restored with the object.</param>
public sealed record ServedResource(KubeResource Resource, IReadOnlyList<string> Verbs, IReadOnlyList<string> ShortNames, string Singular,
    bool Preferred, bool HasStatus)
{
    public bool CanList => Verbs.Contains("list") && Verbs.Contains("get");

    public bool CanCreate => Verbs.Contains("create");

    /// <summary><c>plural.group</c>, or the plural alone in the core group: the name used in archives and filters.</summary>
    public string Name => Resource.QualifiedName;

    /// <summary>
    /// Whether a filter pattern names this resource the way kubectl and Velero accept: the plural, singular, kind or
    /// a short name, each optionally followed by <c>.group</c> (case-insensitive), or <c>*</c>.
    /// </summary>
    public bool IsNamedBy(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (pattern == "*")
        {
            return true;
        }

        var p = pattern.ToLowerInvariant();
        var r = Resource;
        foreach (var alias in Aliases())
        {
            if (p == alias || (r.Group.Length > 0 && p == $"{alias}.{r.Group}"))
            {
                return true;
            }
        }

        return false;

        IEnumerable<string> Aliases()
        {
            yield return r.Plural;
            yield return r.Kind.ToLowerInvariant();
            if (Singular.Length > 0)
            {
                yield return Singular;
            }

            foreach (var s in ShortNames)
            {
                yield return s.ToLowerInvariant();
            }
        }
    }
}

/// <summary>The server's version, as <c>/version</c> answers.</summary>
public sealed record ServerVersion(string? Major, string? Minor, string? GitVersion, string? Platform);

/// <summary>
/// What the API server serves, from its discovery endpoints (<c>/api</c>, <c>/apis</c> and each group version),
/// every served version of every group. A group version that fails discovery (an aggregated API whose backend is
/// down answers 503) is a warning, not a failure: the rest is still usable, and callers report the gap.
/// </summary>
public sealed class ApiDiscovery
{
    private ApiDiscovery(IReadOnlyList<ServedResource> resources, IReadOnlyList<string> warnings, ServerVersion? version)
    {
        Resources = resources;
        Warnings = warnings;
        Version = version;
    }

    public IReadOnlyList<ServedResource> Resources { get; }

    /// <summary>Group versions that could not be discovered, each as one line.</summary>
    public IReadOnlyList<string> Warnings { get; }

    public ServerVersion? Version { get; }

    /// <summary>The preferred version of each resource: one entry per group and plural.</summary>
    public IEnumerable<ServedResource> Preferred => Resources.Where(r => r.Preferred);

    public static async Task<ApiDiscovery> DiscoverAsync(KubeClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var version = await TryAsync(async () => await client.VersionAsync(cancellationToken) is var v
            ? new ServerVersion(v.Major, v.Minor, v.GitVersion, v.Platform) : null);
        var groupVersions = new List<(string Group, string Version, bool Preferred)>();
        var core = await client.CoreVersionsAsync(cancellationToken);
        foreach (var v in core.Versions ?? [])
        {
            groupVersions.Add(("", v, v == "v1" || core.Versions!.Count == 1));
        }

        var groups = await client.GroupsAsync(cancellationToken);
        foreach (var group in groups.Groups ?? [])
        {
            var preferred = group.PreferredVersion?.Version ?? group.Versions?.FirstOrDefault()?.Version;
            foreach (var v in group.Versions ?? [])
            {
                groupVersions.Add((group.Name, v.Version, v.Version == preferred));
            }
        }

        var found = new ConcurrentBag<ServedResource>();
        var warnings = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(groupVersions, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (gv, ct) =>
        {
            V1APIResourceList list;
            try
            {
                list = await client.ResourcesAsync(gv.Group, gv.Version, ct);
            }
            catch (KubeException ex)
            {
                warnings.Add($"the API server could not list the resources of {(gv.Group.Length == 0 ? "" : gv.Group + "/")}{gv.Version}: {ex.Message}");
                return;
            }

            var all = list.Resources ?? [];
            var subresources = all.Where(r => r.Name.Contains('/', StringComparison.Ordinal)).Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var r in all.Where(r => !r.Name.Contains('/', StringComparison.Ordinal)))
            {
                found.Add(new ServedResource(
                    new KubeResource(gv.Group, gv.Version, r.Name, r.Kind, r.Namespaced),
                    [.. r.Verbs ?? []], [.. r.ShortNames ?? []], r.SingularName ?? "", gv.Preferred, subresources.Contains(r.Name + "/status")));
            }
        });

        var ordered = found.OrderBy(r => r.Resource.Group, StringComparer.Ordinal).ThenBy(r => r.Resource.Plural, StringComparer.Ordinal)
            .ThenByDescending(r => r.Preferred).ToList();
        return new ApiDiscovery(ordered, warnings.Order(StringComparer.Ordinal).ToList(), version);
    }

    /// <summary>The resource <paramref name="group"/>/<paramref name="plural"/> in <paramref name="version"/>, or null when that version is not served.</summary>
    public ServedResource? Find(string group, string plural, string version) =>
        Resources.FirstOrDefault(r => r.Resource.Group == group && r.Resource.Plural == plural && r.Resource.Version == version);

    /// <summary>The preferred version of <paramref name="group"/>/<paramref name="plural"/>, or null when it is not served at all.</summary>
    public ServedResource? FindPreferred(string group, string plural) =>
        Resources.FirstOrDefault(r => r.Resource.Group == group && r.Resource.Plural == plural && r.Preferred)
        ?? Resources.FirstOrDefault(r => r.Resource.Group == group && r.Resource.Plural == plural);

    private static async Task<T?> TryAsync<T>(Func<Task<T>> get)
        where T : class
    {
        try
        {
            return await get();
        }
        catch (KubeException)
        {
            return null;
        }
    }
}
