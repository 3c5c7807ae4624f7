using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Lifeboat.Etcd.Restore;

namespace Lifeboat.Etcd.Init;

/// <summary>
/// The member and cluster ids etcd derives from its bootstrap flags, so that a data directory can be checked against
/// the flags it will be started with.
/// </summary>
/// <remarks>
/// etcd computes a member id as the first 8 bytes (big-endian) of SHA-1 over the member's peer URLs, sorted and
/// concatenated, followed by the cluster token; and the cluster id as the first 8 bytes of SHA-1 over the sorted member
/// ids, each 8 bytes big-endian. A member added at runtime (<c>etcdctl member add</c>) also hashes the time it was
/// added, so only members bootstrapped from <c>--initial-cluster</c> (state <c>new</c>, or restored from a snapshot)
/// can be checked this way.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms",
    Justification = "etcd's ids are defined with SHA-1; this is an identifier, not a security control")]
public static class MemberIdentity
{
    public static ulong MemberId(IEnumerable<string> peerUrls, string clusterToken)
    {
        var joined = string.Concat(peerUrls.Select(Normalize).Order(StringComparer.Ordinal)) + clusterToken;
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes(joined));
        return BinaryPrimitives.ReadUInt64BigEndian(hash);
    }

    public static ulong ClusterId(IEnumerable<ulong> memberIds)
    {
        var sorted = memberIds.Order().ToArray();
        var bytes = new byte[8 * sorted.Length];
        for (var i = 0; i < sorted.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(8 * i), sorted[i]);
        }

        return BinaryPrimitives.ReadUInt64BigEndian(SHA1.HashData(bytes));
    }

    /// <summary>This member's id and its cluster's id, as etcd will compute them from <paramref name="flags"/>.</summary>
    public static (ulong Member, ulong Cluster) FromFlags(MemberFlags flags)
    {
        ArgumentNullException.ThrowIfNull(flags);
        var members = flags.Members();
        var own = MemberId(members[flags.Name], flags.InitialClusterToken);
        return (own, ClusterId(members.Values.Select(urls => MemberId(urls, flags.InitialClusterToken))));
    }

    /// <summary>etcd prints ids as lower-case hex without leading zeros.</summary>
    public static string Format(ulong id) => id.ToString("x", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A URL as Go's url.URL.String() writes a parsed http(s)://host:port one: no trailing slash.</summary>
    private static string Normalize(string url) => url.Trim().TrimEnd('/');
}
