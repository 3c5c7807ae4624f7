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
}
