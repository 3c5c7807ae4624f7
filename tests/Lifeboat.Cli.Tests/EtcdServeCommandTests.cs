using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Storage.Local;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>The sidecar in-process against a real etcd, driven over its HTTP API.</summary>
public sealed class EtcdServeCommandTests : EtcdTest
{
    [Fact]
    public async Task Serve_TakesAFullAtStart_CapturesDeltas_ServesTheApi_AndLeavesARestorableChain()
    {
        using var client = Etcd.CreateClient();
        await client.PutAsync("/serve/before", "1", default);
        var tokenFile = Dir.Combine("token");
        await File.WriteAllTextAsync(tokenFile, "t0ken\n");
        var store = Dir.Combine("store");
        using var sidecar = await RunningSidecar.StartReadyAsync("--endpoints", Etcd.ClientUrl.ToString(), "--store", store,
            "--delta-period", "1s", "--api-token-file", tokenFile);
        var http = sidecar.Http;

        var unauthorized = await http.GetAsync("/metrics");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "t0ken");
        var last = 0L;
        for (var i = 0; i < 5; i++)
        {
            last = (await client.PutAsync($"/serve/{i}", "v", default)).Header.Revision;
        }

        await SidecarProbe.WaitChainAsync(http, last, TimeSpan.FromSeconds(30), "the chain to reach the last write");
        var flushed = await http.PostAsync("/snapshots/delta", null);
        var full = await http.PostAsync("/snapshots/full", null);
        var metrics = await http.GetStringAsync("/metrics");
        var config = await http.GetStringAsync("/config");

        var (code, _, stderr) = await sidecar.StopAsync();

        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.True(flushed.IsSuccessStatusCode);
        Assert.True(full.IsSuccessStatusCode);
        using (var doc = JsonDocument.Parse(await full.Content.ReadAsStringAsync()))
        {
            Assert.True(doc.RootElement.GetProperty("name").GetProperty("lastRevision").GetInt64() >= last);
        }

        Assert.Contains("lifeboat_snapshots_total{kind=\"full\",result=\"success\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("lifeboat_delta_events_total", metrics, StringComparison.Ordinal);
        Assert.Contains("lifeboat_delta_lag", metrics, StringComparison.Ordinal);
        Assert.Contains("lifeboat_store_operations_total{operation=\"commit\"}", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("t0ken", config, StringComparison.Ordinal);
        Assert.True(code == 0, stderr);

        var plan = RestorePlanner.Plan(await SnapshotCatalog.ListAsync(LocalDirectoryStore.Open(store, create: false), default), RestoreTarget.AtRevision(last));
        Assert.Equal(last, plan.StopAtRevision);
    }

    [Fact]
    public async Task Serve_StoppedBeforeTheDeltaPeriodEnds_FlushesThePendingChanges()
    {
        using var client = Etcd.CreateClient();
        var store = Dir.Combine("store");
        using var sidecar = await RunningSidecar.StartReadyAsync("--endpoints", Etcd.ClientUrl.ToString(), "--store", store,
            "--delta-period", "1h");
        var http = sidecar.Http;
        var last = 0L;
        for (var i = 0; i < 3; i++)
        {
            last = (await client.PutAsync($"/pending/{i}", "v", default)).Header.Revision;
        }

        await SidecarProbe.WaitChainAsync(http, last, TimeSpan.FromSeconds(30), "the changes to be captured (buffered, not yet written)");
        Assert.DoesNotContain(await SnapshotCatalog.ListAsync(LocalDirectoryStore.Open(store, create: false), default), s => s.Name.Kind == SnapshotKind.Delta);

        var (code, _, stderr) = await sidecar.StopAsync(); // what SIGTERM does

        Assert.True(code == 0, stderr);
        var delta = Assert.Single(await SnapshotCatalog.ListAsync(LocalDirectoryStore.Open(store, create: false), default), s => s.Name.Kind == SnapshotKind.Delta);
        Assert.Equal(last, delta.Name.LastRevision);
    }

    [Fact]
    public async Task Serve_EtcdDownAndBack_ReportsNotReady_StaysUp_AndContinuesTheChain()
    {
        using var client = Etcd.CreateClient();
        var store = Dir.Combine("store");
        using var sidecar = await RunningSidecar.StartReadyAsync("--endpoints", Etcd.ClientUrl.ToString(), "--store", store,
            "--delta-period", "1s");
        var http = sidecar.Http;
        await client.PutAsync("/down/before", "1", default);

        await Etcd.KillAsync();
        await Eventually.SucceedsAsync(async ct => (await http.GetAsync("/readyz", ct)).StatusCode == HttpStatusCode.ServiceUnavailable
            ? 0 : throw new InvalidOperationException("still ready"), TimeSpan.FromSeconds(30), "readiness to report etcd down");
        Assert.False(sidecar.Run.IsCompleted, "the sidecar must keep running while etcd is down");

        await Etcd.RestartAsync();
        var last = (await client.PutAsync("/down/after", "2", default)).Header.Revision;
        await SidecarProbe.WaitDeltaAsync(http, last, TimeSpan.FromSeconds(60), "the chain to continue after etcd came back");
        (await http.GetAsync("/readyz")).EnsureSuccessStatusCode();

        Assert.Equal(0, (await sidecar.StopAsync()).ExitCode);
        var plan = RestorePlanner.Plan(await SnapshotCatalog.ListAsync(LocalDirectoryStore.Open(store, create: false), default), RestoreTarget.AtRevision(last));
        Assert.Equal(last, plan.StopAtRevision);
    }

    [Fact]
    public async Task Serve_StoreOutage_RetriesAndLosesNothing()
    {
        using var client = Etcd.CreateClient();
        var store = Dir.Combine("store");
        using var sidecar = await RunningSidecar.StartReadyAsync("--endpoints", Etcd.ClientUrl.ToString(), "--store", store,
            "--delta-period", "1s");
        var http = sidecar.Http;

        // The store goes away: its directory is replaced by a file, so every write fails (root ignores permissions).
        var aside = Dir.Combine("store-aside");
        Directory.Move(store, aside);
        await File.WriteAllTextAsync(store, "not a directory");
        var last = 0L;
        for (var i = 0; i < 10; i++)
        {
            last = (await client.PutAsync($"/outage/{i}", "v", default)).Header.Revision;
        }

        await Eventually.SucceedsAsync(async ct =>
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync("/snapshots/latest", ct));
            return doc.RootElement.GetProperty("lastError").ValueKind == JsonValueKind.String ? 0 : throw new InvalidOperationException("no failure yet");
        }, TimeSpan.FromSeconds(30), "a delta write to fail");
        Assert.Contains("lifeboat_store_errors_total{kind=", await http.GetStringAsync("/metrics"), StringComparison.Ordinal);

        File.Delete(store); // the store comes back
        Directory.Move(aside, store);
        await SidecarProbe.WaitDeltaAsync(http, last, TimeSpan.FromSeconds(60), "the deltas to be written after the outage");
        Assert.Equal(0, (await sidecar.StopAsync()).ExitCode);

        await AssertRestoresAsync(await SnapshotCatalog.ListAsync(LocalDirectoryStore.Open(store, create: false), default), store, last, "/outage/", 10);
    }

    [Fact]
    public async Task Serve_StoreOutage_WithBufferDir_KeepsTheChainEvenWhenEtcdCompactsMeanwhile()
    {
        using var client = Etcd.CreateClient();
        var store = Dir.Combine("store");
        using var sidecar = await RunningSidecar.StartReadyAsync("--endpoints", Etcd.ClientUrl.ToString(), "--store", store,
            "--delta-period", "1s", "--buffer-dir", Dir.Combine("buffer"));
        var http = sidecar.Http;
        // Ready is not yet leading: the outage must come after the chain began (its full snapshot is stored).
        await Eventually.SucceedsAsync(async ct => (await SidecarProbe.LatestAsync(http, ct)).GetProperty("full").ValueKind == System.Text.Json.JsonValueKind.Object
            ? 0 : throw new InvalidOperationException("no full snapshot yet"), TimeSpan.FromSeconds(60), "the chain's full snapshot");

        var aside = Dir.Combine("store-aside");
        Directory.Move(store, aside);
        await File.WriteAllTextAsync(store, "not a directory");
        var last = 0L;
        for (var i = 0; i < 10; i++)
        {
            last = (await client.PutAsync($"/buffered/{i}", "v", default)).Header.Revision;
        }

        await SidecarProbe.WaitDeltaAsync(http, last, TimeSpan.FromSeconds(60), "the deltas to be written to the buffer", sidecar.Run);
        var during = await SidecarProbe.LatestAsync(http, default);
        Assert.True(during.GetProperty("buffered").GetProperty("objects").GetInt32() > 0, during.ToString());
        Assert.Contains("lifeboat_buffer_objects", await http.GetStringAsync("/metrics"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/readyz")).StatusCode);

        // etcd drops the history of the outage: only the buffer still has those changes.
        await client.CompactAsync(last, physical: true, default);
        File.Delete(store);
        Directory.Move(aside, store);
        await Eventually.SucceedsAsync(async ct => (await SidecarProbe.LatestAsync(http, ct)).GetProperty("buffered").GetProperty("objects").GetInt32() == 0
            ? 0 : throw new InvalidOperationException("still buffered"), TimeSpan.FromSeconds(60), "the buffer to be uploaded");
        Assert.Equal(0, (await sidecar.StopAsync()).ExitCode);

        var catalog = await SnapshotCatalog.ListAsync(LocalDirectoryStore.Open(store, create: false), default);
        Assert.Single(catalog, s => s.Name.Kind == SnapshotKind.Full); // the chain went on: no new full snapshot was needed
        await AssertRestoresAsync(catalog, store, last, "/buffered/", 10);
    }

    /// <summary>Restores <paramref name="store"/> at <paramref name="revision"/> and checks etcd serves it with keys prefix0..prefix(count-1).</summary>
    private async Task AssertRestoresAsync(IReadOnlyList<StoredSnapshot> catalog, string store, long revision, string prefix, int count)
    {
        var plan = RestorePlanner.Plan(catalog, RestoreTarget.AtRevision(revision));
        var dataDir = Dir.Combine("restored");
        await new Lifeboat.Etcd.Restore.EtcdRestorer(LocalDirectoryStore.Open(store, create: false)).RestoreAsync(plan,
            new Lifeboat.Etcd.Restore.RestoreOptions { DataDir = dataDir, Member = LoopbackMember() }, null, default);
        await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
        using var restoredClient = restored.CreateClient();
        Assert.Equal(revision, (await restoredClient.StatusAsync(null, default)).Header.Revision);
        for (var i = 0; i < count; i++)
        {
            Assert.Single((await restoredClient.GetAsync($"{prefix}{i}", default)).Kvs);
        }
    }
}
