using System.Text.Json.Nodes;
using Lifeboat.Core.Retention;
using Lifeboat.Core.Scheduling;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Volumes;
using Lifeboat.Testing.Kube;

namespace Lifeboat.Kubernetes.Tests.Volumes;

public sealed class SnapshotScheduleTests : VolumeTestBase
{
    private SnapshotScheduleRunner Runner(KubeClient? client = null) => new(client ?? Client, Log, Clock) { PollInterval = TimeSpan.FromMilliseconds(50) };

    private static SnapshotScheduleOptions Options(TimedRetentionPolicy? retention = null, bool dryRun = false, string[]? claims = null, string? selector = null) => new()
    {
        Name = "hourly",
        Cron = FullSnapshotSchedule.Parse("@hourly"),
        Namespaces = [Ns],
        Claims = claims ?? [],
        Selector = selector,
        Retention = retention ?? new TimedRetentionPolicy { KeepLast = 2 },
        Wait = QuickWaits,
        DryRun = dryRun,
    };

    /// <summary>One run per hour for <paramref name="hours"/> hours; the last run's result.</summary>
    private async Task<ScheduleRunResult> RunHourlyAsync(int hours, SnapshotScheduleOptions options)
    {
        ScheduleRunResult last = null!;
        for (var hour = 0; hour < hours; hour++)
        {
            last = await Runner().RunAsync(options, default);
            Clock.Advance(TimeSpan.FromHours(1));
        }

        return last;
    }

    private List<string> SnapshotNamesInNs() => Server.All(KubeResource.VolumeSnapshots, Ns).Select(s => (string)s["metadata"]!["name"]!).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public async Task ARun_SnapshotsEachSelectedClaimForItsSlot_AndARetryOfTheSlotMakesNoDuplicate()
    {
        Cluster.AddClaim(Ns, "db", data: "rows");
        Cluster.AddClaim(Ns, "cache");

        var first = await Runner().RunAsync(Options(), default);
        Clock.Advance(TimeSpan.FromMinutes(20)); // the job is retried later in the same hour
        var retry = await Runner().RunAsync(Options(), default);

        Assert.Equal(new DateTimeOffset(2026, 11, 21, 14, 0, 0, TimeSpan.Zero), first.Slot);
        Assert.Equal(0, first.Failures);
        Assert.Equal(["cache-hourly-202611211400", "db-hourly-202611211400"], SnapshotNamesInNs());
        Assert.All(retry.Claims, c => Assert.Equal("ready", c.Outcome));
        Assert.Contains("already exists (an earlier attempt made it)", Log.Text, StringComparison.Ordinal);
        var labels = Server.Peek(KubeResource.VolumeSnapshots, Ns, "db-hourly-202611211400")!["metadata"]!["labels"]!;
        Assert.Equal("lifeboat", (string?)labels[SnapshotNames.ManagedByLabel]);
        Assert.Equal("hourly", (string?)labels[SnapshotNames.ScheduleLabel]);
        Assert.Equal("202611211400", (string?)labels[SnapshotNames.SlotLabel]);
    }

    [Fact]
    public async Task Retention_KeepsTheNewestReadyPerClaim_AndNeverCountsTheFailedOnes()
    {
        Cluster.AddClaim(Ns, "db");
        await RunHourlyAsync(3, Options());

        // From now on the driver fails: the two good ones must stay, however many runs fail.
        Cluster.SnapshotsOf["db"] = new SnapshotBehavior { FailWith = "rpc error: code = Internal desc = disk detached" };
        var failing = Options() with { Wait = new SnapshotWaitOptions { CutTimeout = TimeSpan.FromMilliseconds(300) } };
        var last = await RunHourlyAsync(3, failing);

        Assert.Equal(1, last.Failures);
        Assert.Contains("disk detached", last.Claims.Single().Outcome, StringComparison.Ordinal);
        Assert.Equal(
            ["db-hourly-202611211500", "db-hourly-202611211600", "db-hourly-202611211700", "db-hourly-202611211800", "db-hourly-202611211900"],
            SnapshotNamesInNs());
        Assert.Contains("deleted VolumeSnapshot app/db-hourly-202611211400: not kept by the policy (last 2)", Log.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retention_SparesTheKeepLabel_AndASnapshotAClaimIsBeingRestoredFrom()
    {
        Cluster.AddClaim(Ns, "db");
        await RunHourlyAsync(3, Options(new TimedRetentionPolicy { KeepLast = 5 }));

        Server.Mutate(KubeResource.VolumeSnapshots, Ns, "db-hourly-202611211400", s => s["metadata"]!["labels"]![SnapshotNames.KeepLabel] = "true");
        // A restore from 15:00 is pending: its claim points at the snapshot and is not bound yet.
        Server.Seed(KubeResource.StorageClasses, JsonNode.Parse("""{"metadata":{"name":"late"},"provisioner":"csi.test.lifeboat","volumeBindingMode":"WaitForFirstConsumer"}""")!.AsObject());
        Server.Seed(KubeResource.PersistentVolumeClaims, JsonNode.Parse("""
            {"metadata":{"name":"db-restored","namespace":"app"},
             "spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"late","resources":{"requests":{"storage":"1Gi"}},
                     "dataSourceRef":{"apiGroup":"snapshot.storage.k8s.io","kind":"VolumeSnapshot","name":"db-hourly-202611211500"}},
             "status":{"phase":"Pending"}}
            """)!.AsObject());

        await Runner().RunAsync(Options(new TimedRetentionPolicy { KeepLast = 1 }), default);

        Assert.Equal(["db-hourly-202611211400", "db-hourly-202611211500", "db-hourly-202611211700"], SnapshotNamesInNs());
    }

    [Fact]
    public async Task DryRun_PrintsWhatItWouldDo_AndChangesNothing()
    {
        Cluster.AddClaim(Ns, "db");
        await RunHourlyAsync(3, Options());

        var before = SnapshotNamesInNs();
        var requests = Server.Requests.Count;
        var result = await Runner().RunAsync(Options(new TimedRetentionPolicy { KeepLast = 1 }, dryRun: true), default);

        Assert.Equal(before, SnapshotNamesInNs());
        Assert.DoesNotContain(Server.Requests.Skip(requests), r => !r.StartsWith("GET ", StringComparison.Ordinal));
        Assert.Contains("[dry run] would create VolumeSnapshot app/db-hourly-202611211700", Log.Text, StringComparison.Ordinal);
        Assert.Contains("[dry run] would delete VolumeSnapshot app/db-hourly-202611211500", Log.Text, StringComparison.Ordinal);
        Assert.Single(result.Deleted);
    }

    [Fact]
    public async Task ClaimsBySelectorAcrossNamespaces_AnUnboundOneIsSkipped_AMissingNamedOneFails()
    {
        Server.CreateNamespace("other");
        Cluster.AddClaim(Ns, "db");
        Cluster.AddClaim("other", "db");
        Cluster.AddClaim(Ns, "scratch");
        foreach (var (ns, name) in new[] { (Ns, "db"), ("other", "db") })
        {
            Server.Mutate(KubeResource.PersistentVolumeClaims, ns, name, c => c["metadata"]!["labels"] = new JsonObject { ["backup"] = "hourly" });
        }

        Server.Seed(KubeResource.StorageClasses, JsonNode.Parse("""{"metadata":{"name":"late"},"provisioner":"csi.test.lifeboat","volumeBindingMode":"WaitForFirstConsumer"}""")!.AsObject());
        Cluster.AddClaim(Ns, "unused", storageClass: "late");
        Server.Mutate(KubeResource.PersistentVolumeClaims, Ns, "unused", c => c["metadata"]!["labels"] = new JsonObject { ["backup"] = "hourly" });

        var bySelector = await Runner().RunAsync(Options(selector: "backup=hourly") with { Namespaces = [Ns, "other"] }, default);
        var byName = await Runner().RunAsync(Options(claims: ["gone"]), default);

        Assert.Equal(0, bySelector.Failures);
        Assert.Equal(2, bySelector.Claims.Count(c => c.Outcome == "ready"));
        Assert.Contains(bySelector.Claims, c => c.Claim == "unused" && c.Outcome == "skipped: not Bound");
        Assert.NotNull(Server.Peek(KubeResource.VolumeSnapshots, "other", "db-hourly-202611211400"));
        Assert.Null(Server.Peek(KubeResource.VolumeSnapshots, Ns, "scratch-hourly-202611211400"));
        Assert.Equal(1, byName.Failures);
    }
}
