using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Retention;
using Lifeboat.Core.Scheduling;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Resources;
using Lifeboat.Testing.Kube;

namespace Lifeboat.Kubernetes.Tests.Resources;

public sealed class ResourceBackupTests : ResourceTestBase
{
    private static readonly ResourceRestoreRequest All = new();

    [Fact]
    public async Task BackUp_DeleteTheNamespaceAndCrd_Restore_GivesTheSameObjectsBack()
    {
        var originals = new[]
        {
            (KubeResource.ConfigMaps, "settings"), (KubeResource.Secrets, "creds"), (TestApiServer.ServiceAccounts, "app"), (KubeResource.Deployments, "web"),
            (TestApiServer.Roles, "reader"), (TestApiServer.RoleBindings, "app-reads"), (Widgets, "gear"), (Widgets, "cog"),
        }.Select(o => (o.Item1, o.Item2, Comparable(Server.Peek(o.Item1, "shop", o.Item2)!))).ToList();
        var namespaceBefore = Comparable(Server.Peek(KubeResource.Namespaces, null, "shop")!);

        var manifest = await Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "nightly" }, CancellationToken.None);

        Assert.Equal(BackupManifest.Completed, manifest.Phase);
        Assert.Empty(manifest.Errors);
        Assert.Equal(2, manifest.Resources.Single(r => r.Resource == "widgets.example.com").PerNamespace["shop"]);
        Assert.Equal(1, manifest.Resources.Single(r => r.Resource == "configmaps").PerNamespace["other"]);
        Assert.Contains(manifest.Resources, r => r.Resource == "clusterroles.rbac.authorization.k8s.io");
        Assert.Equal("v1.31.4", manifest.ServerVersion);

        Server.Remove(TestApiServer.CustomResourceDefinitions, null, "widgets.example.com");
        await Client.DeleteAsync(TestApiServer.CustomResourceDefinitions, null, "widgets.example.com", CancellationToken.None);
        await Client.DeleteAsync(KubeResource.Namespaces, null, "shop", CancellationToken.None);
        Assert.Null(Server.Peek(KubeResource.ConfigMaps, "shop", "settings"));

        var report = await RestoreAsync("nightly", All);

        Assert.False(report.HasFailures, Log.Text);
        foreach (var (resource, name, before) in originals)
        {
            var restored = Server.Peek(resource, "shop", name);
            Assert.True(restored is not null, $"{resource.Plural}/{name} was not restored\n{Log.Text}");
            Assert.Equal("nightly", (string?)restored!["metadata"]!["annotations"]![RestorePreparation.RestoredFromAnnotation]);
            Assert.True(JsonNode.DeepEquals(before, Comparable(restored)), $"{resource.Plural}/{name}:\n{before}\n{Comparable(restored)}");
        }

        Assert.True(JsonNode.DeepEquals(namespaceBefore, Comparable(Server.Peek(KubeResource.Namespaces, null, "shop")!)));

        // The CRD came first and was Established before its objects; everything in dependency order.
        var order = report.Items.Select(i => i.Resource).ToList();
        Assert.Equal("customresourcedefinitions.apiextensions.k8s.io", order[0]);
        Assert.True(order.IndexOf("namespaces") < order.IndexOf("serviceaccounts"));
        Assert.True(order.IndexOf("configmaps") < order.IndexOf("secrets"));
        Assert.True(order.IndexOf("secrets") < order.IndexOf("persistentvolumeclaims"));
        Assert.True(order.IndexOf("persistentvolumeclaims") < order.IndexOf("deployments.apps"));
        Assert.True(order.IndexOf("deployments.apps") < order.IndexOf("widgets.example.com"));
        Assert.True(Established("widgets.example.com"));

        // What the cluster recreates itself is left to it, and said so.
        Assert.Equal(RestoreOutcome.Skipped, report.Items.Single(i => i.Name == "web-5d9f").Outcome);
        Assert.Contains("Deployment/web", report.Items.Single(i => i.Name == "web-5d9f").Message, StringComparison.Ordinal);
        Assert.Equal(RestoreOutcome.Skipped, report.Items.Single(i => i.Name == "web-5d9f-abcde").Outcome);
        Assert.Equal(RestoreOutcome.Skipped, report.Items.Single(i => i.Name == "app-token").Outcome);
        Assert.Equal(RestoreOutcome.Skipped, report.Items.Single(i => i.Name == "pvc-0001").Outcome);
        Assert.Null(Server.Peek(KubeResource.ReplicaSets, "shop", "web-5d9f"));

        // What tied objects to the old cluster is gone: a claim gets a new volume, a service a new cluster IP.
        var claim = Server.Peek(KubeResource.PersistentVolumeClaims, "shop", "data")!;
        Assert.Null(claim["spec"]!["volumeName"]);
        Assert.Null(claim["metadata"]!["annotations"]!["pv.kubernetes.io/bind-completed"]);
        var service = Server.Peek(TestApiServer.Services, "shop", "web")!;
        Assert.Null(service["spec"]!["clusterIP"]);
        Assert.Equal(30080, (int)service["spec"]!["ports"]![0]!["nodePort"]!);

        // Objects that were never deleted are reported as existing, not overwritten.
        var unrelated = report.Items.Single(i => i.Name == "unrelated");
        Assert.Equal(RestoreOutcome.Skipped, unrelated.Outcome);
        Assert.Equal("exists, as in the backup", unrelated.Message);
    }

    [Fact]
    public async Task Archive_HasVeleroLayout_WithoutServerFields_AndStatusOnlyWhereRestorable()
    {
        var manifest = await Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "layout" }, CancellationToken.None);

        var entries = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        await using (var file = File.OpenRead(Path.Combine(StorePath, manifest.ArchiveKey!)))
        await using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        await using (var tar = new TarReader(gzip))
        {
            while (await tar.GetNextEntryAsync() is { } entry)
            {
                using var reader = new StreamReader(entry.DataStream!);
                var text = await reader.ReadToEndAsync();
                entries[entry.Name] = entry.Name.EndsWith(".json", StringComparison.Ordinal) ? JsonNode.Parse(text) : null;
            }
        }

        Assert.Contains("metadata/version", entries.Keys);
        Assert.Contains("metadata/backup.json", entries.Keys);
        Assert.Contains("resources/deployments.apps/namespaces/shop/web.json", entries.Keys);
        Assert.Contains("resources/configmaps/namespaces/shop/settings.json", entries.Keys);
        Assert.Contains("resources/clusterroles.rbac.authorization.k8s.io/cluster/shop-viewer.json", entries.Keys);
        Assert.Contains("resources/customresourcedefinitions.apiextensions.k8s.io/cluster/widgets.example.com.json", entries.Keys);
        Assert.Contains("resources/widgets.example.com/namespaces/shop/gear.json", entries.Keys);
        Assert.DoesNotContain(entries.Keys, k => k.StartsWith("resources/events", StringComparison.Ordinal));
        Assert.Equal(manifest.TotalItems, entries.Keys.Count(k => k.StartsWith("resources/", StringComparison.Ordinal)));

        foreach (var (path, doc) in entries.Where(e => e.Key.StartsWith("resources/", StringComparison.Ordinal)))
        {
            var meta = doc!["metadata"]!.AsObject();
            foreach (var field in new[] { "managedFields", "resourceVersion", "uid", "creationTimestamp", "generation" })
            {
                Assert.False(meta.ContainsKey(field), $"{path} keeps {field}");
            }

            Assert.NotNull(doc["apiVersion"]);
            Assert.NotNull(doc["kind"]);
        }

        // Status has a subresource on deployments and widgets (a create ignores it): stripped. The CRD keeps its spec.
        Assert.Null(entries["resources/deployments.apps/namespaces/shop/web.json"]!["status"]);
        Assert.Null(entries["resources/widgets.example.com/namespaces/shop/gear.json"]!["status"]);
        Assert.Equal(12, (int)entries["resources/widgets.example.com/namespaces/shop/gear.json"]!["spec"]!["teeth"]!);
    }

    [Fact]
    public void Cleaner_KeepsStatus_WhereTheResourceHasNoStatusSubresource()
    {
        var item = Obj("""{"metadata":{"name":"a","uid":"u","resourceVersion":"7"},"spec":{"x":1},"status":{"phase":"Done"}}""");
        var withSub = new ServedResource(Widgets, ["create", "get", "list"], [], "widget", true, HasStatus: true);
        var withoutSub = withSub with { HasStatus = false };

        Assert.Null(ObjectCleaner.Clean(item, withSub)["status"]);
        Assert.Equal("Done", (string?)ObjectCleaner.Clean(item, withoutSub)["status"]!["phase"]);
        Assert.Null(ObjectCleaner.Clean(item, withoutSub)["metadata"]!["uid"]);
        Assert.Equal("7", (string?)item["metadata"]!["resourceVersion"]); // the original is not changed
    }

    [Fact]
    public async Task SingleObjectRestore_BringsBackOnlyThatObject()
    {
        await Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "b1" }, CancellationToken.None);
        Server.Remove(KubeResource.ConfigMaps, "shop", "settings");
        Server.Remove(KubeResource.Secrets, "shop", "creds");

        var report = await RestoreAsync("b1", All with { Names = ["configmap/settings"] });

        var item = Assert.Single(report.Items);
        Assert.Equal(RestoreOutcome.Created, item.Outcome);
        Assert.Equal("blue", (string?)Server.Peek(KubeResource.ConfigMaps, "shop", "settings")!["data"]!["color"]);
        Assert.Null(Server.Peek(KubeResource.Secrets, "shop", "creds"));

        var missing = await Assert.ThrowsAsync<ResourceRefusedException>(() => RestoreAsync("b1", All with { Names = ["configmap/nope"] }));
        Assert.Contains("configmap/nope", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NamespaceMapping_RestoresACopyBesideTheOriginal()
    {
        await Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "b2", Namespaces = new(["shop"], []) }, CancellationToken.None);
        var before = Server.Requests.Count;

        var report = await RestoreAsync("b2", All with { NamespaceMapping = new Dictionary<string, string> { ["shop"] = "shop-copy" } });

        Assert.False(report.HasFailures, Log.Text);
        var ns = Server.Peek(KubeResource.Namespaces, null, "shop-copy")!;
        Assert.Equal("shop", (string?)ns["metadata"]!["labels"]!["team"]);
        Assert.Equal("blue", (string?)Server.Peek(KubeResource.ConfigMaps, "shop-copy", "settings")!["data"]!["color"]);
        Assert.Equal(12, (int)Server.Peek(Widgets, "shop-copy", "gear")!["spec"]!["teeth"]!);
        Assert.Equal("shop-copy", (string?)Server.Peek(TestApiServer.RoleBindings, "shop-copy", "app-reads")!["subjects"]![0]!["namespace"]);
        Assert.Null(Server.Peek(TestApiServer.Services, "shop-copy", "web")!["spec"]!["ports"]![0]!["nodePort"]); // would collide with the original's
        Assert.DoesNotContain(Server.Requests.Skip(before), r => !r.StartsWith("GET", StringComparison.Ordinal) && r.Contains("/namespaces/shop/", StringComparison.Ordinal));
        Assert.Equal("shop", (string?)Server.Peek(KubeResource.ConfigMaps, "shop", "settings")!["metadata"]!["namespace"]);
        // Namespace filtering took the CRD along (the custom objects need it) but not unrelated cluster objects.
        Assert.DoesNotContain(report.Items, i => i.Resource == "clusterroles.rbac.authorization.k8s.io");
    }

    [Fact]
    public async Task DryRun_ReportsWhatWouldHappen_AndWritesNothing()
    {
        await Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "b3" }, CancellationToken.None);
        await Client.DeleteAsync(KubeResource.Namespaces, null, "shop", CancellationToken.None);
        Server.Mutate(KubeResource.ConfigMaps, "other", "unrelated", c => c["data"]!["k"] = "changed");
        var before = Server.Requests.Count;

        var report = await RestoreAsync("b3", All with { DryRun = true });

        Assert.True(report.DryRun);
        Assert.Null(Server.Peek(KubeResource.Namespaces, null, "shop"));
        Assert.Equal("changed", (string?)Server.Peek(KubeResource.ConfigMaps, "other", "unrelated")!["data"]!["k"]);
        var writes = Server.Requests.Skip(before).Where(r => !r.StartsWith("GET", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(writes);
        Assert.All(writes, w => Assert.Contains("dryRun=All", w, StringComparison.Ordinal));
        Assert.Equal(RestoreOutcome.Created, report.Items.Single(i => i.Resource == "namespaces" && i.Name == "shop").Outcome);
        var settings = report.Items.Single(i => i.Name == "settings");
        Assert.Equal(RestoreOutcome.Created, settings.Outcome);
        Assert.Contains("namespace shop does not exist yet", settings.Message, StringComparison.Ordinal);
        Assert.Contains("differs from the backup", report.Items.Single(i => i.Name == "unrelated").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DryRun_UsesServerValidation_WhereItCan()
    {
        await Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "b4" }, CancellationToken.None);
        Server.Remove(KubeResource.ConfigMaps, "shop", "settings");
        var before = Server.Requests.Count;

        var report = await RestoreAsync("b4", All with { DryRun = true, Names = ["cm/settings"] });

        Assert.Equal(RestoreOutcome.Created, Assert.Single(report.Items).Outcome);
        Assert.Null(report.Items[0].Message);
        Assert.Contains(Server.Requests.Skip(before), r => r.StartsWith("POST /api/v1/namespaces/shop/configmaps?dryRun=All", StringComparison.Ordinal));
        Assert.Null(Server.Peek(KubeResource.ConfigMaps, "shop", "settings"));
    }

    [Fact]
    public async Task Existing_SkippedByDefault_MergedWithUpdate()
    {
        await Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "b5", Namespaces = new(["shop"], []) }, CancellationToken.None);
        Server.Mutate(KubeResource.ConfigMaps, "shop", "settings", c =>
        {
            c["data"]!["color"] = "red";
            c["metadata"]!["labels"]!["added"] = "later";
        });

        var skip = await RestoreAsync("b5", All with { Names = ["configmaps/settings"] });
        Assert.Equal(RestoreOutcome.Skipped, skip.Items.Single().Outcome);
        Assert.Equal("red", (string?)Server.Peek(KubeResource.ConfigMaps, "shop", "settings")!["data"]!["color"]);

        var update = await RestoreAsync("b5", All with { Names = ["configmaps/settings"], Existing = ExistingPolicy.Update });
        Assert.Equal(RestoreOutcome.Updated, update.Items.Single().Outcome);
        var live = Server.Peek(KubeResource.ConfigMaps, "shop", "settings")!;
        Assert.Equal("blue", (string?)live["data"]!["color"]);
        Assert.Equal("later", (string?)live["metadata"]!["labels"]!["added"]);

        var again = await RestoreAsync("b5", All with { Names = ["configmaps/settings"], Existing = ExistingPolicy.Update });
        Assert.Equal(RestoreOutcome.Unchanged, again.Items.Single().Outcome);
    }

    [Fact]
    public async Task Filters_NamespacesByGlob_ResourcesAndLabels()
    {
        var manifest = await Backupper().BackupAsync(Store, new ResourceBackupRequest
        {
            Name = "filtered",
            Namespaces = new(["sh*"], []),
            Resources = new(["*"], ["secrets"]),
            LabelSelector = "app=shop",
        }, CancellationToken.None);

        var resources = manifest.Resources.Select(r => r.Resource).ToList();
        Assert.Equal(["shop"], manifest.Namespaces);
        Assert.DoesNotContain("secrets", resources);
        Assert.Contains("configmaps", resources);
        Assert.DoesNotContain("clusterroles.rbac.authorization.k8s.io", resources); // namespace filtering: cluster objects only when related
        Assert.Contains("customresourcedefinitions.apiextensions.k8s.io", resources); // the custom objects need their CRD
        Assert.Contains("persistentvolumes", resources); // the claim's volume
        Assert.Equal(1, manifest.Resources.Single(r => r.Resource == "widgets.example.com").Count); // cog has no app label
        Assert.DoesNotContain(manifest.Resources, r => r.PerNamespace.ContainsKey("other"));

        var typo = await Assert.ThrowsAsync<ArgumentException>(() =>
            Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "typo", Resources = new(["deploymnets"], []) }, CancellationToken.None));
        Assert.Contains("deploymnets", typo.Message, StringComparison.Ordinal);
        Assert.Null(await new ResourceBackupCatalog(Store).FindAsync("typo", CancellationToken.None));
    }

    [Fact]
    public async Task ExcludeLabel_And_ExplicitIncludes_AndClusterResourcesFalse()
    {
        Server.Mutate(KubeResource.ConfigMaps, "shop", "settings", c => c["metadata"]!["labels"]![ResourceBackupper.ExcludeLabel] = "true");

        var manifest = await Backupper().BackupAsync(Store, new ResourceBackupRequest
        {
            Name = "narrow",
            Namespaces = new(["shop", "missing"], []),
            Resources = new(["configmaps", "widgets.example.com", "svc"], []),
            ClusterResources = ClusterResources.False,
        }, CancellationToken.None);

        Assert.Equal(1, manifest.ExcludedByLabel);
        Assert.DoesNotContain(manifest.Resources, r => r.Resource == "configmaps" && r.PerNamespace.ContainsKey("shop"));
        Assert.Contains(manifest.Resources, r => r.Resource == "services");
        Assert.DoesNotContain(manifest.Resources, r => r.Resource.StartsWith("customresourcedefinitions", StringComparison.Ordinal));
        Assert.Contains(manifest.Warnings, w => w.Scope == "namespace missing");
        Assert.Equal(BackupManifest.Completed, manifest.Phase); // a warning is not a failure, but it is recorded
    }

    [Fact]
    public async Task PartialBackup_SaysWhatWasMissed()
    {
        Server.AddIdentity("no-secrets", "backup-bot",
            new RbacRule(["get", "list"], "", ["namespaces", "configmaps", "serviceaccounts", "services", "pods", "persistentvolumeclaims", "persistentvolumes"]),
            new RbacRule(["get", "list"], "apps", ["*"]),
            new RbacRule(["get", "list"], "rbac.authorization.k8s.io", ["*"]),
            new RbacRule(["get", "list"], "example.com", ["*"]),
            new RbacRule(["get", "list"], "apiextensions.k8s.io", ["*"]));
        using var limited = new KubeClient(Server.Connection("no-secrets"));

        var manifest = await Backupper(limited).BackupAsync(Store, new ResourceBackupRequest
        {
            Name = "partial",
            Resources = new(["*"], ["volumesnapshots", "volumesnapshotcontents", "volumesnapshotclasses", "storageclasses", "replicasets", "events"]),
        }, CancellationToken.None);

        Assert.Equal(BackupManifest.PartiallyFailed, manifest.Phase);
        var error = Assert.Single(manifest.Errors);
        Assert.Equal("resource secrets", error.Scope);
        Assert.Contains("cannot list resource \"secrets\"", error.Message, StringComparison.Ordinal);
        var listed = Assert.Single(await new ResourceBackupCatalog(Store).ListAsync(CancellationToken.None));
        Assert.Equal(BackupManifest.PartiallyFailed, listed.Phase);
        Assert.Contains("configmaps", listed.Resources.Select(r => r.Resource));
    }

    [Fact]
    public async Task UnavailableApiGroup_IsAWarning_TheRestIsBackedUp()
    {
        Server.UnavailableGroupVersions.Add("example.com/v1");

        var manifest = await Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "degraded" }, CancellationToken.None);

        Assert.Contains(manifest.Warnings, w => w.Scope == "discovery" && w.Message.Contains("example.com/v1", StringComparison.Ordinal));
        Assert.Contains("configmaps", manifest.Resources.Select(r => r.Resource));
    }

    [Fact]
    public async Task Paging_ListsEveryObject()
    {
        for (var i = 0; i < 25; i++)
        {
            Server.Seed(KubeResource.ConfigMaps, Obj($$$"""{"metadata":{"name":"many-{{{i:D2}}}","namespace":"other"},"data":{"i":"{{{i}}}"}}"""));
        }

        var manifest = await Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "paged", PageSize = 10 }, CancellationToken.None);

        Assert.Equal(26, manifest.Resources.Single(r => r.Resource == "configmaps").PerNamespace["other"]);
        Assert.Contains(Server.Requests, r => r.Contains("/configmaps?", StringComparison.Ordinal) && r.Contains("limit=10", StringComparison.Ordinal)
            && r.Contains("continue=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SameName_IsRefused_AndADeadRunsArchiveIsNeverListed()
    {
        await Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "once" }, CancellationToken.None);
        await Assert.ThrowsAsync<ResourceRefusedException>(() => Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "once" }, CancellationToken.None));

        // An archive whose manifest never got written (the process died between the two commits).
        Directory.CreateDirectory(Path.Combine(StorePath, "resources", "dead"));
        await File.WriteAllTextAsync(Path.Combine(StorePath, "resources", "dead", "dead.tar.gz"), "half");
        var catalog = new ResourceBackupCatalog(Store);
        Assert.DoesNotContain("dead", (await catalog.ListAsync(CancellationToken.None)).Select(m => m.Name));

        var manifest = await Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "dead" }, CancellationToken.None);
        Assert.Equal(manifest.TotalItems, (await catalog.ReadAsync("dead", CancellationToken.None)).Objects.Count);
    }

    [Fact]
    public async Task DamagedArchive_IsRefusedBeforeAnythingIsRestored()
    {
        var manifest = await Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "damaged" }, CancellationToken.None);
        var path = Path.Combine(StorePath, manifest.ArchiveKey!);
        var bytes = await File.ReadAllBytesAsync(path);
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length / 2)]);

        await Assert.ThrowsAsync<IntegrityException>(() => new ResourceBackupCatalog(Store).ReadAsync("damaged", CancellationToken.None));
    }

    [Fact]
    public async Task TerminatingNamespace_FailsItsObjects_WithTheReason()
    {
        await Backupper().BackupAsync(Store, new ResourceBackupRequest { Name = "t", Namespaces = new(["shop"], []) }, CancellationToken.None);
        Server.NamespaceTermination = TimeSpan.FromMinutes(5);
        await Client.DeleteAsync(KubeResource.Namespaces, null, "shop", CancellationToken.None);

        var report = await RestoreAsync("t", All with { Names = ["configmap/settings"] });

        var item = Assert.Single(report.Items);
        Assert.Equal(RestoreOutcome.Failed, item.Outcome);
        Assert.Contains("being deleted", item.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScheduleRun_TakesOneBackupPerSlot_AndKeepsTheNewestCompleted()
    {
        var cron = FullSnapshotSchedule.Parse("@hourly");
        var schedule = new ResourceBackupSchedule(Client, Log, Clock);
        var policy = new TimedRetentionPolicy { KeepLast = 2 };
        var template = new ResourceBackupRequest { Name = "unused", Namespaces = new(["shop"], []) };

        var first = await schedule.RunAsync(Store, "hourly", cron, template, policy, dryRun: false, CancellationToken.None);
        var retry = await schedule.RunAsync(Store, "hourly", cron, template, policy, dryRun: false, CancellationToken.None);
        Assert.Equal("hourly-20261121140000", first.Name);
        Assert.NotNull(first.Taken);
        Assert.Null(retry.Taken); // the same slot: found, not taken twice

        for (var hour = 1; hour <= 3; hour++)
        {
            Clock.Advance(TimeSpan.FromHours(1));
            await schedule.RunAsync(Store, "hourly", cron, template, policy, dryRun: false, CancellationToken.None);
        }

        var names = (await new ResourceBackupCatalog(Store).ListAsync(CancellationToken.None)).Select(m => m.Name).ToList();
        Assert.Equal(["hourly-20261121170000", "hourly-20261121160000"], names);
    }

    [Fact]
    public void Prune_OnlyCompletedCount_PartialOnesGoOnceSuperseded()
    {
        var now = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
        BackupManifest M(string name, int hoursAgo, bool partial) => new()
        {
            Name = name,
            Phase = partial ? BackupManifest.PartiallyFailed : BackupManifest.Completed,
            StartedAt = now.AddHours(-hoursAgo),
            Filters = new(),
        };
        var backups = new[] { M("a", 5, false), M("b", 4, true), M("c", 3, false), M("d", 2, true), M("e", 1, true) };

        var pruned = ResourceBackupSchedule.Prune(backups, new TimedRetentionPolicy { KeepLast = 1 }, now).Select(p => p.Backup.Name).ToList();
        Assert.Equal(["a", "b"], pruned); // c is the newest completed one; d and e are newer than it, so kept

        var old = ResourceBackupSchedule.Prune([M("x", 100, false)], new TimedRetentionPolicy { MaxAge = TimeSpan.FromHours(1) }, now);
        Assert.Empty(old); // the only good backup is never deleted, whatever its age
    }
}
