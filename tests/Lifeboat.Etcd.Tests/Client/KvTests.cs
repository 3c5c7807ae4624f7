using Google.Protobuf;
using Grpc.Core;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Tests.Client;

[Collection(EtcdCollection.Name)]
public sealed class KvTests(EtcdFixture etcd)
{
    private readonly string _prefix = $"/kv-{Guid.NewGuid():N}/";

    [Fact]
    public async Task PutAsync_ThenGetAsync_ReturnsValueAndRevisions()
    {
        using var client = etcd.CreateClient();
        var put = await client.PutAsync(_prefix + "a", "one", default);
        var get = await client.GetAsync(_prefix + "a", default);

        var kv = Assert.Single(get.Kvs);
        Assert.Equal("one", kv.Value.ToStringUtf8());
        Assert.Equal(put.Header.Revision, kv.ModRevision);
        Assert.Equal(put.Header.Revision, kv.CreateRevision);
        Assert.Equal(1, kv.Version);
        Assert.NotEqual(0ul, get.Header.ClusterId);
    }

    [Fact]
    public async Task RangeAsync_WithPrefixLimitAndRevision_ReturnsThatView()
    {
        using var client = etcd.CreateClient();
        for (var i = 0; i < 5; i++)
        {
            await client.PutAsync($"{_prefix}k{i}", $"v{i}", default);
        }

        var before = (await client.PutAsync(_prefix + "k0", "changed", default)).Header.Revision - 1;
        var key = ByteString.CopyFromUtf8(_prefix);
        var all = await client.RangeAsync(new RangeRequest { Key = key, RangeEnd = EtcdClient.PrefixEnd(key) }, default);
        var limited = await client.RangeAsync(new RangeRequest { Key = key, RangeEnd = EtcdClient.PrefixEnd(key), Limit = 2 }, default);
        var old = await client.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(_prefix + "k0"), Revision = before }, default);

        Assert.Equal(5, all.Count);
        Assert.Equal(2, limited.Kvs.Count);
        Assert.True(limited.More);
        Assert.Equal("v0", Assert.Single(old.Kvs).Value.ToStringUtf8());
    }

    [Fact]
    public async Task DeleteRangeAsync_WithPrevKv_DeletesAndReturnsThem()
    {
        using var client = etcd.CreateClient();
        await client.PutAsync(_prefix + "x", "1", default);
        await client.PutAsync(_prefix + "y", "2", default);
        var key = ByteString.CopyFromUtf8(_prefix);

        var deleted = await client.DeleteRangeAsync(new DeleteRangeRequest { Key = key, RangeEnd = EtcdClient.PrefixEnd(key), PrevKv = true }, default);

        Assert.Equal(2, deleted.Deleted);
        Assert.Equal(["1", "2"], deleted.PrevKvs.Select(k => k.Value.ToStringUtf8()).Order());
        Assert.Empty((await client.RangeAsync(new RangeRequest { Key = key, RangeEnd = EtcdClient.PrefixEnd(key) }, default)).Kvs);
    }

    [Fact]
    public async Task TxnAsync_CompareOnVersion_RunsTheMatchingBranchAtomically()
    {
        using var client = etcd.CreateClient();
        var key = ByteString.CopyFromUtf8(_prefix + "txn");
        TxnRequest CreateIfAbsent(string value) => new()
        {
            Compare = { new Compare { Key = key, Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 0 } },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(value) } } },
            Failure = { new RequestOp { RequestRange = new RangeRequest { Key = key } } },
        };

        var first = await client.TxnAsync(CreateIfAbsent("first"), default);
        var second = await client.TxnAsync(CreateIfAbsent("second"), default);

        Assert.True(first.Succeeded);
        Assert.False(second.Succeeded);
        Assert.Equal("first", Assert.Single(second.Responses).ResponseRange.Kvs[0].Value.ToStringUtf8());
    }

    [Fact]
    public async Task RangeAsync_AtCompactedRevision_ThrowsCompacted()
    {
        using var client = etcd.CreateClient();
        var first = (await client.PutAsync(_prefix + "c", "1", default)).Header.Revision;
        var second = (await client.PutAsync(_prefix + "c", "2", default)).Header.Revision;
        await client.CompactAsync(second, physical: true, default);

        var ex = await Assert.ThrowsAsync<EtcdCompactedException>(() =>
            client.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(_prefix + "c"), Revision = first }, default));
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task RangeAsync_FutureRevision_ThrowsOutOfRangeWithHint()
    {
        using var client = etcd.CreateClient();
        var ex = await Assert.ThrowsAsync<EtcdException>(() =>
            client.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(_prefix), Revision = long.MaxValue / 2 }, default));
        Assert.Equal(StatusCode.OutOfRange, ex.StatusCode);
        Assert.Contains("future revision", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.Hint);
    }

    [Theory]
    [InlineData(1_700_000, StatusCode.InvalidArgument)] // above etcd's 1.5 MiB --max-request-bytes
    [InlineData(3_000_000, StatusCode.ResourceExhausted)] // above gRPC's receive limit in front of it
    public async Task PutAsync_ValueAboveRequestLimit_ThrowsPermanentErrorWithHint(int size, StatusCode expected)
    {
        using var client = etcd.CreateClient();
        var ex = await Assert.ThrowsAsync<EtcdException>(() => client.PutAsync(
            new PutRequest { Key = ByteString.CopyFromUtf8(_prefix + "big"), Value = ByteString.CopyFrom(new byte[size]) }, default));
        Assert.Equal(expected, ex.StatusCode);
        Assert.False(ex.IsTransient);
        Assert.Contains("--max-request-bytes", ex.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RangeAsync_ResponseAboveReceiveLimit_ThrowsClearly()
    {
        var options = new EtcdClientOptions { Endpoints = [etcd.Server.ClientUrl], MaxReceiveMessageBytes = 4 * 1024 * 1024 };
        using var client = new EtcdClient(options);
        var value = ByteString.CopyFrom(new byte[1024 * 1024]);
        for (var i = 0; i < 5; i++)
        {
            await client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8($"{_prefix}big{i}"), Value = value }, default);
        }

        var key = ByteString.CopyFromUtf8(_prefix + "big");
        var ex = await Assert.ThrowsAsync<EtcdException>(() => client.RangeAsync(new RangeRequest { Key = key, RangeEnd = EtcdClient.PrefixEnd(key) }, default));
        Assert.Contains("receive limit", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.IsTransient);
    }
}
