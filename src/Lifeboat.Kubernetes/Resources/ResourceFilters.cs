using System.Text;
using System.Text.RegularExpressions;

namespace Lifeboat.Kubernetes.Resources;

/// <summary>Whether cluster-scoped resources go into a backup.</summary>
public enum ClusterResources
{
    /// <summary>When every namespace is backed up; with namespace filters only the related ones (namespaces, CRDs of custom objects, PVs of claims).</summary>
    Auto,

    /// <summary>Always (those the resource filters select).</summary>
    True,

    /// <summary>Never; not even the related ones (the Namespace objects of the selected namespaces still are).</summary>
    False,
}

/// <summary>A shell-style pattern (<c>*</c>, <c>?</c>, <c>[abc]</c>) as Velero accepts for namespaces.</summary>
public sealed class Glob
{
    private readonly Regex _regex;

    public Glob(string pattern)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        Pattern = pattern;
        var sb = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*':
                    sb.Append(".*");
                    break;
                case '?':
                    sb.Append('.');
                    break;
                case '[':
                    var end = pattern.IndexOf(']', i + 1);
                    if (end < 0)
                    {
                        throw new ArgumentException($"'{pattern}' has a '[' without its ']'");
                    }

                    sb.Append('[').Append(Regex.Escape(pattern[(i + 1)..end]).Replace("\\-", "-", StringComparison.Ordinal)).Append(']');
                    i = end;
                    break;
                default:
                    sb.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        _regex = new Regex(sb.Append('$').ToString(), RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }

    public string Pattern { get; }

    public bool IsWildcard => Pattern == "*";

    public bool Matches(string value) => _regex.IsMatch(value);

    public override string ToString() => Pattern;
}

/// <summary>Include and exclude lists with Velero's rules: an empty include list means everything; an exclude wins over an include.</summary>
public sealed record IncludeExclude(IReadOnlyList<string> Include, IReadOnlyList<string> Exclude)
{
    public static readonly IncludeExclude Everything = new(["*"], []);

    /// <summary>Everything is selected: the include list is <c>*</c> (or empty) and nothing is excluded.</summary>
    public bool SelectsEverything => (Include.Count == 0 || Include.Contains("*")) && Exclude.Count == 0;

    public bool IncludesAll => Include.Count == 0 || Include.Contains("*");

    public override string ToString() => $"include {(IncludesAll ? "*" : string.Join(",", Include))}" + (Exclude.Count == 0 ? "" : $", exclude {string.Join(",", Exclude)}");
}

/// <summary>Namespace filters as globs.</summary>
public sealed class NamespaceFilter
{
    private readonly List<Glob> _include;
    private readonly List<Glob> _exclude;

    public NamespaceFilter(IncludeExclude lists)
    {
        ArgumentNullException.ThrowIfNull(lists);
        Lists = lists;
        _include = lists.IncludesAll ? [] : lists.Include.Select(p => new Glob(p)).ToList();
        _exclude = lists.Exclude.Select(p => new Glob(p)).ToList();
    }

    public IncludeExclude Lists { get; }

    public bool Includes(string ns) => (Lists.IncludesAll || _include.Any(g => g.Matches(ns))) && !_exclude.Any(g => g.Matches(ns));

    /// <summary>Names in the include list without wildcards: each is expected to exist.</summary>
    public IEnumerable<string> ExplicitNames => Lists.IncludesAll ? [] : Lists.Include.Where(p => p.IndexOfAny(['*', '?', '[']) < 0);
}

/// <summary>Resource filters: patterns that <see cref="ServedResource.IsNamedBy"/> understands.</summary>
public sealed class ResourceFilter(IncludeExclude lists)
{
    public IncludeExclude Lists { get; } = lists ?? throw new ArgumentNullException(nameof(lists));

    public bool Includes(ServedResource resource) =>
        (Lists.IncludesAll || Lists.Include.Any(resource.IsNamedBy)) && !Lists.Exclude.Any(resource.IsNamedBy);

    /// <summary>
    /// Included, and not one of <paramref name="defaultExcluded"/> (resource names) unless named explicitly: <c>*</c>
    /// alone does not bring those in.
    /// </summary>
    public bool Selects(ServedResource resource, IReadOnlySet<string> defaultExcluded)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(defaultExcluded);
        return Includes(resource) && (!defaultExcluded.Contains(resource.Name) || Lists.Include.Any(p => p != "*" && resource.IsNamedBy(p)));
    }
}
