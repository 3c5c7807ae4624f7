namespace Lifeboat.Etcd.Tests.Client;

[Collection(EtcdCollection.Name)]
public sealed class MaintenanceTests(EtcdFixture etcd)
{
    [Fact]
    public async Task StatusAsync_ReportsVersionLeaderAndDbSize()
    {
        using var client = etcd.CreateClient();
        var status = await client.StatusAsync(null, default);

        Assert.StartsWith("3.", status.Version, StringComparison.Ordinal);
        Assert.Equal(status.Header.MemberId, status.Leader);
        Assert.True(status.DbSize > 0);
    }

    [Fact]
    public async Task HashKVAsync_SameRevisionTwice_GivesSameHash()
    {
        using var client = etcd.CreateClient();
        var rev = (await client.PutAsync($"/hash-{Guid.NewGuid():N}", "x", default)).Header.Revision;
        var a = await client.HashKVAsync(rev, null, default);
        var b = await client.HashKVAsync(rev, null, default);
        Assert.Equal(a.Hash, b.Hash);
        Assert.NotEqual(0u, a.Hash);
    }

    [Fact]
    public async Task DefragmentAsync_ShrinksNothingItShouldNot_AndEtcdKeepsServing()
    {
        using var client = etcd.CreateClient();
        var key = $"/defrag-{Guid.NewGuid():N}";
        await client.PutAsync(key, "kept", default);

        await client.DefragmentAsync(null, TimeSpan.FromMinutes(1), default); // etcd 3.4 answers with no header

        Assert.Equal("kept", Assert.Single((await client.GetAsync(key, default)).Kvs).Value.ToStringUtf8());
    }

    [Fact]
    public async Task MemberListAsync_ListsTheOneMember()
    {
        using var client = etcd.CreateClient();
        var members = await client.MemberListAsync(default);
        var member = Assert.Single(members.Members);
        Assert.Equal(etcd.Server.Name, member.Name);
        Assert.Contains(etcd.Server.ClientUrl.ToString().TrimEnd('/'), member.ClientURLs);
    }

    [Fact]
    public async Task SnapshotAsync_StreamsChunksThenSha256OfTheDb()
    {
        using var client = etcd.CreateClient();
        var chunks = new List<byte[]>();
        ulong lastRemaining = ulong.MaxValue;
        byte[]? hash = null;
        await foreach (var message in client.SnapshotAsync(null, default))
        {
            if (lastRemaining == 0)
            {
                hash = message.Blob.ToByteArray();
                continue;
            }

            chunks.Add(message.Blob.ToByteArray());
            lastRemaining = message.RemainingBytes;
        }

        var db = chunks.SelectMany(c => c).ToArray();
        Assert.NotNull(hash);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(db), hash);
        Assert.Equal(0, db.Length % 4096);
    }
}
