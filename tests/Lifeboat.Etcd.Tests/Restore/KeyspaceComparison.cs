using Google.Protobuf;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Tests.Restore;

internal static class KeyspaceComparison
{
    private static readonly ByteString All = ByteString.CopyFrom(0);

    /// <summary>Every key with what restore must reproduce exactly, at <paramref name="revision"/> (0 = latest).</summary>
    public static async Task<List<(string Key, string ValueHash, long Create, long Mod, long Version, long Lease)>> ReadAsync(EtcdClient client, long revision)
    {
        var response = await client.RangeAsync(new RangeRequest { Key = All, RangeEnd = All, Revision = revision }, default);
        return response.Kvs
            .Select(kv => (kv.Key.ToStringUtf8(), Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(kv.Value.Span)),
                kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease))
            .ToList();
    }

    public static void AssertEqual(
        List<(string Key, string ValueHash, long Create, long Mod, long Version, long Lease)> expected,
        List<(string Key, string ValueHash, long Create, long Mod, long Version, long Lease)> actual, long revision)
    {
        var missing = expected.Except(actual).Take(3).ToList();
        var extra = actual.Except(expected).Take(3).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"at revision {revision}: {expected.Count} keys expected, {actual.Count} restored; differing, expected: {string.Join("; ", missing)}; restored: {string.Join("; ", extra)}");
    }
}
