using Google.Protobuf;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Tests.Client;

[Collection(EtcdCollection.Name)]
public sealed class WatchTests(EtcdFixture etcd)
{
    private readonly string _prefix = $"/watch-{Guid.NewGuid():N}/";

    private WatchCreateRequest PrefixWatch(long startRevision) => new()
    {
        Key = ByteString.CopyFromUtf8(_prefix),
        RangeEnd = EtcdClient.PrefixEnd(ByteString.CopyFromUtf8(_prefix)),
        StartRevision = startRevision,
        PrevKv = true,
        ProgressNotify = true,
    };

    [Fact]
    public async Task WatchAsync_FromPastRevision_DeliversHistoryThenLiveEventsInOrder()
    {
        using var client = etcd.CreateClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var first = (await client.PutAsync(_prefix + "a", "1", default)).Header.Revision;
        await client.PutAsync(_prefix + "a", "2", default);

        await using var watch = await client.WatchAsync(PrefixWatch(first), timeout.Token);
        var events = new List<Event>();
        var liveWritten = false;
        await foreach (var response in watch.ReadAllAsync(timeout.Token))
        {
            events.AddRange(response.Events);
            if (!liveWritten && events.Count >= 2)
            {
                liveWritten = true;
                await client.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(_prefix + "a") }, default);
            }

            if (events.Count >= 3)
            {
                break;
            }
        }

        Assert.Equal([first, first + 1, first + 2], events.Select(e => e.Kv.ModRevision));
        Assert.Equal(Event.Types.EventType.Delete, events[2].Type);
        Assert.Equal("2", events[2].PrevKv.Value.ToStringUtf8());
        Assert.Equal("1", events[1].PrevKv.Value.ToStringUtf8());
    }

    [Fact]
    public async Task WatchAsync_FromCompactedRevision_ThrowsCompactedWithOldestRevision()
    {
        using var client = etcd.CreateClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var first = (await client.PutAsync(_prefix + "c", "1", default)).Header.Revision;
        var latest = (await client.PutAsync(_prefix + "c", "2", default)).Header.Revision;
        await client.CompactAsync(latest, physical: true, default);

        await using var watch = await client.WatchAsync(PrefixWatch(first), timeout.Token);
        var ex = await Assert.ThrowsAsync<EtcdCompactedException>(async () =>
        {
            await foreach (var _ in watch.ReadAllAsync(timeout.Token))
            {
            }
        });
        Assert.True(ex.CompactRevision >= latest);
        Assert.Equal(first, ex.RequestedRevision);
    }

    [Fact]
    public async Task RequestProgressAsync_OnIdleWatch_AnswersWithCurrentRevision()
    {
        using var client = etcd.CreateClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var revision = (await client.PutAsync("/unwatched-" + Guid.NewGuid().ToString("N"), "x", default)).Header.Revision;

        await using var watch = await client.WatchAsync(PrefixWatch(0), timeout.Token);
        await watch.RequestProgressAsync(timeout.Token);
        var progress = await watch.ReadAllAsync(timeout.Token).FirstAsync(r => !r.Created && r.Events.Count == 0, timeout.Token);

        Assert.True(progress.Header.Revision >= revision);
    }

    [Fact]
    public async Task DisposeAsync_EndsTheWatchPromptly()
    {
        using var client = etcd.CreateClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var watch = await client.WatchAsync(PrefixWatch(0), timeout.Token);
        var reader = Task.Run(async () =>
        {
            await foreach (var _ in watch.ReadAllAsync(timeout.Token))
            {
            }
        }, timeout.Token);
        await Task.Delay(50, timeout.Token);

        await watch.DisposeAsync();

        await Assert.ThrowsAnyAsync<Exception>(() => reader);
        Assert.False(timeout.IsCancellationRequested, "the watch did not end when disposed");
    }
}
