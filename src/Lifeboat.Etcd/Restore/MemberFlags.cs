namespace Lifeboat.Etcd.Restore;

/// <summary>
/// The membership a restored data directory gets, named as etcd's flags are. The defaults are etcd's own defaults,
/// so a restore without flags starts like a fresh single etcd.
/// </summary>
public sealed record MemberFlags
{
    public string Name { get; init; } = "default";

    public string InitialCluster { get; init; } = "default=http://localhost:2380";

    public string InitialClusterToken { get; init; } = "etcd-cluster";

    public string InitialAdvertisePeerUrls { get; init; } = "http://localhost:2380";

    /// <summary>Checks the flags against each other before any work is done, as etcd would at start.</summary>
    /// <exception cref="RestoreRefusedException">A flag contradicts another; the message names both.</exception>
    public void Validate()
    {
        var members = Members();
        if (!members.TryGetValue(Name, out var own))
        {
            throw new RestoreRefusedException($"--name '{Name}' is not a member of --initial-cluster ({InitialCluster})",
                "use the member's own name from --initial-cluster, as etcd will be started with");
        }

        var advertised = InitialAdvertisePeerUrls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(u => CheckUrl(u, "--initial-advertise-peer-urls"))
            .ToHashSet(StringComparer.Ordinal);
        if (!advertised.SetEquals(own))
        {
            throw new RestoreRefusedException(
                $"--initial-advertise-peer-urls ({InitialAdvertisePeerUrls}) differs from {Name}'s URLs in --initial-cluster ({string.Join(",", own)})",
                "give the member the same peer URLs in both flags");
        }

        if (string.IsNullOrWhiteSpace(InitialClusterToken))
        {
            throw new RestoreRefusedException("--initial-cluster-token is empty", "pass the cluster's token, as etcd will be started with");
        }
    }

    /// <summary>
    /// The members of --initial-cluster with their peer URLs, as written: etcd hashes them as strings into the member
    /// ids and stores them as they are.
    /// </summary>
    /// <exception cref="RestoreRefusedException">An entry is not NAME=URL.</exception>
    public IReadOnlyDictionary<string, HashSet<string>> Members()
    {
        var members = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var entry in InitialCluster.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !Uri.TryCreate(entry[(eq + 1)..].Trim(), UriKind.Absolute, out _))
            {
                throw new RestoreRefusedException($"--initial-cluster entry '{entry}' is not NAME=URL",
                    "write --initial-cluster as name1=http://host1:2380,name2=http://host2:2380");
            }

            if (!members.TryGetValue(entry[..eq], out var urls))
            {
                members[entry[..eq]] = urls = [];
            }

            urls.Add(CheckUrl(entry[(eq + 1)..].Trim(), "--initial-cluster"));
        }

        return members;
    }

    /// <summary>
    /// A peer URL as etcd accepts one (types.NewURLs): http, https, unix or unixs, an explicit host:port, no path. etcd
    /// refuses anything else at start, so a restore refuses it before any work.
    /// </summary>
    private static string CheckUrl(string url, string flag)
    {
        var fix = $"write each URL in {flag} as scheme://host:port, as etcd requires (for example http://10.0.0.1:2380)";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https" or "unix" or "unixs"))
        {
            throw new RestoreRefusedException($"{flag} URL '{url}' is not an http, https, unix or unixs URL", fix);
        }

        var authority = url[(url.IndexOf("://", StringComparison.Ordinal) is var s and >= 0 ? s + 3 : 0)..];
        if (authority.IndexOfAny(['/', '?', '#']) >= 0)
        {
            throw new RestoreRefusedException($"{flag} URL '{url}' has a path; etcd takes peer URLs without one", fix);
        }

        var colon = authority.LastIndexOf(':');
        if (colon < 0 || colon == authority.Length - 1 || authority.EndsWith(']'))
        {
            throw new RestoreRefusedException($"{flag} URL '{url}' has no port", fix);
        }

        return url;
    }
}
