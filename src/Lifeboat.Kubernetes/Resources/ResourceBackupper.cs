using System.Text.Json.Nodes;
using Lifeboat.Core.Storage;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Volumes;

namespace Lifeboat.Kubernetes.Resources;

/// <summary>What to back up.</summary>
public sealed record ResourceBackupRequest
{
    public required string Name { get; init; }

    public string? Schedule { get; init; }

    public IncludeExclude Namespaces { get; init; } = IncludeExclude.Everything;

    public IncludeExclude Resources { get; init; } = IncludeExclude.Everything;

    public string? LabelSelector { get; init; }

    public ClusterResources ClusterResources { get; init; } = ClusterResources.Auto;

    public int PageSize { get; init; } = 500;

    public string? LifeboatVersion { get; init; }
}

/// <summary>
/// Backs up Kubernetes objects, Velero-style: discovers what the server serves, lists what the filters select (page by
/// page), strips server-managed fields and streams each object into one archive in the store. What cannot be read (an
/// RBAC denial, an API that is down) is recorded per namespace and resource and makes the backup PartiallyFailed; it is
/// never silently left out.
/// </summary>
public sealed class ResourceBackupper(KubeClient client, IStepLog log, TimeProvider time)
{
    /// <summary>Label that keeps an object out of every backup.</summary>
    public const string ExcludeLabel = "lifeboat.io/exclude-from-backup";

    /// <summary>Left out unless named in --include-resources: they are history, not state, and a restore could not use them.</summary>
    private static readonly IReadOnlySet<string> DefaultExcluded = new HashSet<string>(StringComparer.Ordinal) { "events", "events.events.k8s.io" };

    /// <exception cref="ResourceRefusedException">A complete backup of that name exists.</exception>
    /// <exception cref="ArgumentException">An include filter names no resource the server serves.</exception>
    public async Task<BackupManifest> BackupAsync(ISnapshotStore store, ResourceBackupRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(request);
        ResourceBackupCatalog.ValidateName(request.Name);
        var catalog = new ResourceBackupCatalog(store);
        var leftovers = await catalog.ObjectsOfAsync(request.Name, cancellationToken);
        if (leftovers.Any(o => StoreKey.WithoutEncryption(o.Key) == ResourceBackupCatalog.ManifestKey(request.Name)))
        {
            throw new ResourceRefusedException($"a resource backup named '{request.Name}' already exists in {store.Location}",
                "choose another name, or delete it first with lifeboat resources delete " + request.Name);
        }

        var namespaceFilter = new NamespaceFilter(request.Namespaces);
        var resourceFilter = new ResourceFilter(request.Resources);
        _ = LabelSelectorExpression.Parse(request.LabelSelector); // refuse a malformed selector before anything is read

        var started = time.GetUtcNow();
        var discovery = await ApiDiscovery.DiscoverAsync(client, cancellationToken);
        var run = new Run(request, discovery);
        foreach (var warning in discovery.Warnings)
        {
            run.Warn("discovery", warning);
        }

        var preferred = discovery.Preferred.Where(r => r.CanList).ToList();
        foreach (var pattern in request.Resources.Include.Where(p => p != "*"))
        {
            if (!preferred.Any(r => r.IsNamedBy(pattern)))
            {
                throw new ArgumentException($"--include-resources '{pattern}' names no resource this cluster serves: check the spelling (kubectl api-resources lists them)");
            }
        }

        foreach (var pattern in request.Resources.Exclude.Where(p => !preferred.Any(r => r.IsNamedBy(p))))
        {
            run.Warn("filters", $"--exclude-resources '{pattern}' names no resource this cluster serves");
        }

        var selected = preferred
            .Where(r => resourceFilter.Selects(r, DefaultExcluded))
            .ToList();
        var namespaces = await SelectNamespacesAsync(namespaceFilter, run, cancellationToken);
        var includeCluster = request.ClusterResources == ClusterResources.True
            || (request.ClusterResources == ClusterResources.Auto && request.Namespaces.SelectsEverything);

        foreach (var stale in leftovers)
        {
            await store.DeleteAsync(stale.Key, cancellationToken); // an archive a dead run left without its manifest: never listed
        }

        await using (var write = await store.BeginWriteAsync(cancellationToken))
        {
            await using var archive = new BackupArchive.Writer(write.Content, started);
            run.Archive = archive;
            log.Info($"backing up {selected.Count} resource type(s) in {namespaces.Count} namespace(s){(includeCluster ? " and cluster-scoped resources" : "")}");

            // Namespaces first: the objects of the selected ones, whatever the label selector says, as a restore recreates them from these.
            var namespaceResource = discovery.FindPreferred("", "namespaces");
            if (namespaceResource is not null && resourceFilter.Includes(namespaceResource))
            {
                foreach (var ns in namespaces.Values.Where(n => n is not null))
                {
                    await run.AddAsync(namespaceResource, ns!, cancellationToken);
                }
            }

            foreach (var served in selected.Where(r => r.Resource.Namespaced))
            {
                if (request.Namespaces.SelectsEverything)
                {
                    await ListIntoAsync(run, served, null, cancellationToken);
                }
                else
                {
                    foreach (var ns in namespaces.Keys)
                    {
                        await ListIntoAsync(run, served, ns, cancellationToken);
                    }
                }
            }

            if (includeCluster)
            {
                foreach (var served in selected.Where(r => !r.Resource.Namespaced && r.Name != "namespaces"))
                {
                    await ListIntoAsync(run, served, null, cancellationToken);
                }
            }

            if (request.ClusterResources != ClusterResources.False)
            {
                await AddRelatedAsync(run, resourceFilter, cancellationToken);
            }

            var manifest = run.Manifest(started, time.GetUtcNow(), client.Connection.Server.GetLeftPart(UriPartial.Authority), namespaces.Keys);
            await archive.FinishAsync(manifest, cancellationToken);
            var committed = await write.CommitAsync(ResourceBackupCatalog.ArchiveKey(request.Name), overwrite: false, cancellationToken);
            manifest = manifest with { ArchiveKey = committed.Key, ArchiveSize = committed.Size };
            await using var manifestWrite = await store.BeginWriteAsync(cancellationToken);
            await manifestWrite.Content.WriteAsync(BackupArchive.ManifestBytes(manifest), cancellationToken);
            await manifestWrite.CommitAsync(ResourceBackupCatalog.ManifestKey(request.Name), overwrite: false, cancellationToken);
            return manifest;
        }
    }

    /// <summary>The selected namespaces, each with its object (null when it could only be named, not read).</summary>
    private async Task<SortedDictionary<string, JsonObject?>> SelectNamespacesAsync(NamespaceFilter filter, Run run, CancellationToken cancellationToken)
    {
        var selected = new SortedDictionary<string, JsonObject?>(StringComparer.Ordinal);
        try
        {
            await foreach (var ns in client.ListAllAsync<JsonObject>(KubeResource.Namespaces, null, new ListOptions(), cancellationToken))
            {
                var name = (string)ns["metadata"]!["name"]!;
                if (filter.Includes(name))
                {
                    selected[name] = ns;
                }
            }
        }
        catch (KubeForbiddenException ex) when (filter.ExplicitNames.Any())
        {
            run.Warn("namespaces", $"cannot list namespaces ({ex.Message}); backing up the namespaces named in --include-namespaces");
            foreach (var name in filter.ExplicitNames.Where(filter.Includes))
            {
                selected[name] = await TryGetAsync(KubeResource.Namespaces, name, run, $"namespace {name}", cancellationToken);
            }
        }

        foreach (var name in filter.ExplicitNames.Where(n => filter.Includes(n) && !selected.ContainsKey(n)))
        {
            run.Warn($"namespace {name}", "does not exist; nothing was backed up from it");
        }

        return selected;
    }

    private async Task<JsonObject?> TryGetAsync(KubeResource resource, string name, Run run, string scope, CancellationToken cancellationToken)
    {
        try
        {
            return await client.TryGetAsync<JsonObject>(resource, null, name, cancellationToken);
        }
        catch (KubeException ex)
        {
            run.Fail(scope, ex.Message);
            return null;
        }
    }

    private async Task ListIntoAsync(Run run, ServedResource served, string? ns, CancellationToken cancellationToken)
    {
        var scope = ns is null ? $"resource {served.Name}" : $"resource {served.Name} in namespace {ns}";
        var before = run.Count;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await foreach (var item in client.ListAllAsync<JsonObject>(served.Resource, ns,
                    new ListOptions { LabelSelector = run.Request.LabelSelector, Limit = run.Request.PageSize }, cancellationToken))
                {
                    await run.AddAsync(served, item, cancellationToken);
                }

                break;
            }
            catch (KubeGoneException) when (attempt < 3)
            {
                // The continue token expired between pages (a long list on a busy cluster): list again; written objects are not added twice.
            }
            catch (KubeException ex) when (ex.IsTransient && attempt < 3)
            {
                await Task.Delay(TimeSpan.FromSeconds(attempt), time, cancellationToken);
            }
            catch (KubeException ex)
            {
                run.Fail(scope, ex.Message);
                return;
            }
        }

        if (run.Count > before)
        {
            log.Info($"  {served.Name}{(ns is null ? "" : $" in {ns}")}: {run.Count - before}");
        }
    }

    /// <summary>
    /// What the backed-up objects need in a fresh cluster though the filters left it out: the CRD of each custom
    /// resource, and the PV of each claim (its reclaim policy and provisioning tell a restore what to do with it).
    /// </summary>
    private async Task AddRelatedAsync(Run run, ResourceFilter filter, CancellationToken cancellationToken)
    {
        var crdResource = run.Discovery.FindPreferred(KubeResource.CustomResourceDefinitions.Group, KubeResource.CustomResourceDefinitions.Plural);
        var custom = run.Counts.Keys.Select(k => run.Served[k]).Where(s => s.Resource.Group.Contains('.', StringComparison.Ordinal)).ToList();
        if (crdResource is not null && filter.Includes(crdResource) && custom.Count > 0)
        {
            var crds = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
            try
            {
                await foreach (var crd in client.ListAllAsync<JsonObject>(crdResource.Resource, null, new ListOptions { Limit = run.Request.PageSize }, cancellationToken))
                {
                    crds[(string)crd["metadata"]!["name"]!] = crd;
                }
            }
            catch (KubeException ex)
            {
                run.Warn($"resource {crdResource.Name}", $"cannot list CustomResourceDefinitions ({ex.Message}); a restore into a fresh cluster needs those of the custom resources installed first");
            }

            foreach (var served in custom)
            {
                var crdName = $"{served.Resource.Plural}.{served.Resource.Group}";
                if (crds.TryGetValue(crdName, out var crd) && !run.Has(crdResource.Name, null, crdName))
                {
                    await run.AddAsync(crdResource, crd, cancellationToken);
                }
            }
        }

        var pvResource = run.Discovery.FindPreferred("", "persistentvolumes");
        if (pvResource is not null && filter.Includes(pvResource) && run.Claims.Count > 0)
        {
            foreach (var volume in run.Claims.Distinct(StringComparer.Ordinal).Where(v => !run.Has("persistentvolumes", null, v)))
            {
                if (await TryGetAsync(pvResource.Resource, volume, run, $"persistentvolume {volume}", cancellationToken) is { } pv)
                {
                    await run.AddAsync(pvResource, pv, cancellationToken);
                }
            }
        }
    }

    /// <summary>One backup in progress: what was written, counted per resource and namespace, and what went wrong.</summary>
    private sealed class Run(ResourceBackupRequest request, ApiDiscovery discovery)
    {
        private readonly NamespaceFilter _namespaces = new(request.Namespaces);
        private readonly HashSet<string> _written = new(StringComparer.Ordinal);
        private readonly List<BackupProblem> _warnings = [];
        private readonly List<BackupProblem> _errors = [];
        private int _excluded;

        public ResourceBackupRequest Request => request;

        public ApiDiscovery Discovery => discovery;

        public BackupArchive.Writer? Archive { get; set; }

        public int Count => _written.Count;

        public SortedDictionary<string, ResourceCount> Counts { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, ServedResource> Served { get; } = new(StringComparer.Ordinal);

        /// <summary>The volume names of backed-up claims.</summary>
        public List<string> Claims { get; } = [];

        public void Warn(string scope, string message) => _warnings.Add(new BackupProblem(scope, message));

        public void Fail(string scope, string message) => _errors.Add(new BackupProblem(scope, message));

        public bool Has(string resource, string? ns, string name) => _written.Contains(BackupArchive.EntryPath(resource, ns, name));

        public async Task AddAsync(ServedResource served, JsonObject item, CancellationToken cancellationToken)
        {
            var meta = item["metadata"]!;
            if ((string?)meta["labels"]?[ExcludeLabel] == "true")
            {
                _excluded++;
                return;
            }

            var name = (string)meta["name"]!;
            var ns = served.Resource.Namespaced ? (string?)meta["namespace"] : null;
            if (ns is not null && !_namespaces.Includes(ns))
            {
                return;
            }

            var archived = new ArchivedObject(served.Name, ns, name, ObjectCleaner.Clean(item, served));
            if (!_written.Add(archived.Path))
            {
                return;
            }

            await Archive!.AddAsync(archived, cancellationToken);
            Served[served.Name] = served;
            if (!Counts.TryGetValue(served.Name, out var count))
            {
                count = new ResourceCount { Resource = served.Name, ApiVersion = served.Resource.ApiVersion, Kind = served.Resource.Kind, Namespaced = served.Resource.Namespaced };
            }

            if (ns is not null)
            {
                count.PerNamespace[ns] = count.PerNamespace.GetValueOrDefault(ns) + 1;
            }

            Counts[served.Name] = count with { Count = count.Count + 1 };
            if (served.Name == "persistentvolumeclaims" && (string?)item["spec"]?["volumeName"] is { Length: > 0 } volume)
            {
                Claims.Add(volume);
            }
        }

        public BackupManifest Manifest(DateTimeOffset started, DateTimeOffset completed, string server, IEnumerable<string> namespaces) => new()
        {
            Name = request.Name,
            Schedule = request.Schedule,
            Phase = _errors.Count == 0 ? BackupManifest.Completed : BackupManifest.PartiallyFailed,
            StartedAt = started,
            CompletedAt = completed,
            Server = server,
            ServerVersion = discovery.Version?.GitVersion,
            LifeboatVersion = request.LifeboatVersion,
            Filters = new BackupFilterRecord
            {
                IncludeNamespaces = request.Namespaces.IncludesAll ? ["*"] : [.. request.Namespaces.Include],
                ExcludeNamespaces = [.. request.Namespaces.Exclude],
                IncludeResources = request.Resources.IncludesAll ? ["*"] : [.. request.Resources.Include],
                ExcludeResources = [.. request.Resources.Exclude],
                LabelSelector = request.LabelSelector,
                IncludeClusterResources = request.ClusterResources.ToString().ToLowerInvariant(),
            },
            Namespaces = [.. namespaces],
            Resources = [.. Counts.Values],
            TotalItems = _written.Count,
            ExcludedByLabel = _excluded,
            Warnings = [.. _warnings],
            Errors = [.. _errors],
        };
    }
}
