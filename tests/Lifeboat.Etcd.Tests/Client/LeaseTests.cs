using Google.Protobuf;
using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Tests.Client;

[Collection(EtcdCollection.Name)]
public sealed class LeaseTests(EtcdFixture etcd)
{
    private readonly string _prefix = $"/lease-{Guid.NewGuid():N}/";

    [Fact]
    public async Task LeaseGrantAsync_WithChosenId_AttachesKeysAndReportsThem()
    {
        using var client = etcd.CreateClient();
        var id = Random.Shared.NextInt64(1, long.MaxValue);
        var grant = await client.LeaseGrantAsync(60, id, default);
        await client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(_prefix + "k"), Value = ByteString.CopyFromUtf8("v"), Lease = id }, default);

        var ttl = await client.LeaseTimeToLiveAsync(id, keys: true, default);
        var leases = await client.LeaseLeasesAsync(default);

        Assert.Equal(id, grant.ID);
        Assert.Equal(60, ttl.GrantedTTL);
        Assert.InRange(ttl.TTL, 1, 60);
        Assert.Equal(_prefix + "k", Assert.Single(ttl.Keys).ToStringUtf8());
        Assert.Contains(leases.Leases, l => l.ID == id);
    }

    [Fact]
    public async Task LeaseRevokeAsync_DeletesAttachedKeys()
    {
        using var client = etcd.CreateClient();
        var grant = await client.LeaseGrantAsync(60, 0, default);
        await client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(_prefix + "gone"), Value = ByteString.CopyFromUtf8("v"), Lease = grant.ID }, default);

        await client.LeaseRevokeAsync(grant.ID, default);

        Assert.Empty((await client.GetAsync(_prefix + "gone", default)).Kvs);
        Assert.Equal(-1, (await client.LeaseTimeToLiveAsync(grant.ID, false, default)).TTL);
    }

    [Fact]
    public async Task LeaseKeepAliveOnceAsync_RefreshesTtl_AndStreamKeepsAlive()
    {
        using var client = etcd.CreateClient();
        var grant = await client.LeaseGrantAsync(30, 0, default);

        var once = await client.LeaseKeepAliveOnceAsync(grant.ID, default);
        await using var stream = await client.LeaseKeepAliveAsync(grant.ID, default);
        var firstAnswer = await stream.ReadAsync(default);
        await stream.WriteAsync(new LeaseKeepAliveRequest { ID = grant.ID }, default);
        var secondAnswer = await stream.ReadAsync(default);

        Assert.Equal(30, once.TTL);
        Assert.Equal(grant.ID, firstAnswer!.ID);
        Assert.Equal(30, secondAnswer!.TTL);
    }

    [Fact]
    public async Task LeaseRevokeAsync_UnknownLease_ThrowsNotFound()
    {
        using var client = etcd.CreateClient();
        var ex = await Assert.ThrowsAsync<EtcdException>(() => client.LeaseRevokeAsync(Random.Shared.NextInt64(1, long.MaxValue), default));
        Assert.Equal(Grpc.Core.StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("lease not found", ex.Message, StringComparison.Ordinal);
    }
}
