using Lifeboat.Core.Snapshots;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Etcd.Deltas.Format;
using Lifeboat.Storage.Local;
using Lifeboat.Testing;

namespace Lifeboat.Etcd.Tests.Deltas;

public sealed class DeltaCaptureTests : EtcdTest
{
    [Fact]
    public async Task WatchAsync_AcrossAnEtcdRestart_ResumesWithoutGapOrRepeat()
    {
        using var client = Etcd.CreateClient();
        var start = (await client.PutAsync("/s/0", "0", default)).Header.Revision;
        var capture = new DeltaCapture(client, LocalDirectoryStore.Open(Dir.Combine("store")), new DeltaOptions());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new List<long>();
        var restarted = false;
        for (var i = 1; i <= 3; i++)
        {
            await client.PutAsync($"/s/{i}", "before", default);
        }

        await foreach (var record in capture.WatchAsync(start, timeout.Token))
        {
            seen.Add(record.Revision);
            if (!restarted && seen.Count == 3)
            {
                restarted = true;
                await Etcd.RestartAsync(); // the watch breaks here and must come back at the next revision
                for (var i = 4; i <= 6; i++)
                {
                    await client.PutAsync($"/s/{i}", "after", default);
                }
            }

            if (seen.Count == 6)
            {
                break;
            }
        }

        Assert.Equal(Enumerable.Range(1, 6).Select(i => start + i), seen);
    }

    [Fact]
    public async Task CaptureToNowAsync_FromCompactedRevision_ThrowsCompactedSoThatANewChainStarts()
    {
        using var client = Etcd.CreateClient();
        var old = (await client.PutAsync("/c/a", "1", default)).Header.Revision;
        await client.PutAsync("/c/a", "2", default);
        var latest = (await client.PutAsync("/c/a", "3", default)).Header.Revision;
        await client.CompactAsync(latest, physical: true, default);
        var store = LocalDirectoryStore.Open(Dir.Combine("store"));

        await Assert.ThrowsAsync<EtcdCompactedException>(() => new DeltaCapture(client, store, new DeltaOptions()).CaptureToNowAsync(old, default));

        Assert.Empty(await SnapshotCatalog.ListAsync(store, default));
    }

    [Fact]
    public async Task CaptureToNowAsync_AboveMaxBytes_SplitsIntoContiguousDeltas()
    {
        using var client = Etcd.CreateClient();
        var start = (await client.PutAsync("/m/0", "0", default)).Header.Revision;
        for (var i = 0; i < 40; i++)
        {
            await client.PutAsync($"/m/{i}", new string('v', 10_000), default);
        }

        var store = LocalDirectoryStore.Open(Dir.Combine("store"));
        var result = await new DeltaCapture(client, store, new DeltaOptions { MaxBytes = 100_000 }).CaptureToNowAsync(start, default);

        Assert.True(result.Deltas.Count >= 3, $"{result.Deltas.Count} deltas");
        Assert.Equal(start + 1, result.Deltas[0].Name.FirstRevision);
        for (var i = 1; i < result.Deltas.Count; i++)
        {
            Assert.Equal(result.Deltas[i - 1].Name.LastRevision + 1, result.Deltas[i].Name.FirstRevision);
        }

        Assert.Equal(start + 40, result.ReachedRevision);
        Assert.Equal(40, result.Deltas.Sum(d => d.Changes));
    }

    [Fact]
    public async Task RunAsync_AfterAStoreFailure_HandsOverWhatItCaptured_AndTheNextCaptureWritesIt_EvenOnceEtcdCompactedIt()
    {
        using var client = Etcd.CreateClient();
        var start = (await client.PutAsync("/carry/0", "0", default)).Header.Revision;
        var local = LocalDirectoryStore.Open(Dir.Combine("store"));
        var down = new FailingStore(local) { FailCommit = true };
        var failed = new DeltaCapture(client, down, new DeltaOptions());
        var reached = 0L;
        var run = failed.RunAsync(start, TimeSpan.FromHours(1), _ => Task.CompletedTask, r => Interlocked.Exchange(ref reached, r), default);
        var last = 0L;
        for (var i = 1; i <= 5; i++)
        {
            last = (await client.PutAsync($"/carry/{i}", $"v{i}", default)).Header.Revision;
        }

        await Eventually.SucceedsAsync(_ => Task.FromResult(Interlocked.Read(ref reached) >= last ? 0 : throw new InvalidOperationException("not captured yet")),
            TimeSpan.FromSeconds(10), "the writes to be captured");
        var flush = failed.FlushNowAsync(default);
        await Assert.ThrowsAsync<Lifeboat.Core.Errors.StoreException>(() => run); // the store is down: the run fails...
        await Assert.ThrowsAsync<Lifeboat.Core.Errors.StoreException>(() => flush);
        Assert.Equal(Enumerable.Range((int)start + 1, 5).Select(r => (long)r), failed.Unwritten.Select(r => r.Revision)); // ...but hands over what it had

        // etcd forgets those revisions: only the handed-over records can still bring them into the chain.
        await client.CompactAsync(last, physical: true, default);
        var after = (await client.PutAsync("/carry/after", "x", default)).Header.Revision;
        using var stop = new CancellationTokenSource();
        var next = new DeltaCapture(client, local, new DeltaOptions());
        var stored = new List<StoredDelta>();
        var resumed = next.RunAsync(start, TimeSpan.FromMilliseconds(200), d =>
        {
            lock (stored)
            {
                stored.Add(d);
            }

            return Task.CompletedTask;
        }, null, stop.Token, failed.Unwritten);
        await Eventually.SucceedsAsync(_ => Task.FromResult(stored.Count > 0 && stored[^1].Name.LastRevision >= after ? 0 : throw new InvalidOperationException("not stored yet")),
            TimeSpan.FromSeconds(10), "the carried and the new revisions to be stored");
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => resumed);

        var deltas = await SnapshotCatalog.ListAsync(local, default);
        Assert.Equal(start + 1, deltas[0].Name.FirstRevision);
        Assert.Equal(after, deltas[^1].Name.LastRevision);
        Assert.Equal(after - start, deltas.Sum(d => d.Name.LastRevision - d.Name.FirstRevision + 1));
    }

    [Fact]
    public async Task RunAsync_FlushesEachPeriodAndOnSize_AndFlushesWhatIsLeftWhenStopped()
    {
        using var client = Etcd.CreateClient();
        var start = (await client.PutAsync("/run/0", "0", default)).Header.Revision;
        var store = LocalDirectoryStore.Open(Dir.Combine("store"));
        var flushed = new List<StoredDelta>();
        var reached = 0L;
        using var stop = new CancellationTokenSource();
        var capture = new DeltaCapture(client, store, new DeltaOptions { MaxBytes = 50_000 });
        var run = capture.RunAsync(start, TimeSpan.FromMilliseconds(300), d =>
        {
            lock (flushed)
            {
                flushed.Add(d);
            }

            return Task.CompletedTask;
        }, r => Interlocked.Exchange(ref reached, Math.Max(r, Interlocked.Read(ref reached))), stop.Token);

        await client.PutAsync("/run/a", "small", default); // flushed by the period
        await Eventually.SucceedsAsync(_ => Task.FromResult(flushed.Count >= 1 ? 0 : throw new InvalidOperationException("no delta yet")),
            TimeSpan.FromSeconds(10), "a periodic delta");
        for (var i = 0; i < 10; i++)
        {
            await client.PutAsync($"/run/big{i}", new string('x', 20_000), default); // flushed by size
        }

        var last = (await client.PutAsync("/run/z", "last", default)).Header.Revision;
        await Eventually.SucceedsAsync(_ => Task.FromResult(Interlocked.Read(ref reached) >= last ? 0 : throw new InvalidOperationException("not there yet")),
            TimeSpan.FromSeconds(10), "the chain reaching the last write");
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);

        var deltas = (await SnapshotCatalog.ListAsync(store, default)).ToList();
        Assert.True(deltas.Count >= 3, $"{deltas.Count} deltas");
        Assert.Equal(start + 1, deltas[0].Name.FirstRevision);
        Assert.Equal(last, deltas[^1].Name.LastRevision);
        for (var i = 1; i < deltas.Count; i++)
        {
            Assert.Equal(deltas[i - 1].Name.LastRevision + 1, deltas[i].Name.FirstRevision);
        }
    }

    [Fact]
    public async Task DeltaFile_WriteThenRead_RoundTripsAndRejectsAGap()
    {
        var header = new DeltaHeader { FormatVersion = DeltaFile.FormatVersion, FirstRevision = 10, LastRevision = 11 };
        RevisionRecord Record(long r) => new() { Revision = r, Changes = { new Change { Key = Google.Protobuf.ByteString.CopyFromUtf8($"k{r}") } } };
        using var stream = new MemoryStream();

        var written = await DeltaFile.WriteAsync(stream, header, [Record(10), Record(11)], default);
        stream.Position = 0;
        var (read, records, changes, checksum) = await DeltaFile.VerifyAsync(stream, "mem", default);

        Assert.Equal((10, 11, 2L, 2L), (read.FirstRevision, read.LastRevision, records, changes));
        Assert.Equal(written, checksum);
        Assert.Equal(written, stream.ToArray()[^32..]);
        await Assert.ThrowsAsync<ArgumentException>(() => DeltaFile.WriteAsync(new MemoryStream(), new DeltaHeader { FormatVersion = 1, FirstRevision = 10, LastRevision = 12 }, [Record(10), Record(12)], default));
    }
}
