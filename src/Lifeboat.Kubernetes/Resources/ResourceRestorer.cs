using System.Text.Json.Nodes;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Volumes;

namespace Lifeboat.Kubernetes.Resources;

/// <summary>What to do with an object that already exists in the cluster.</summary>
public enum ExistingPolicy
{
    /// <summary>Leave it as it is (the default: a restore never overwrites without being asked).</summary>
    Skip,

    /// <summary>Merge the backup's fields into it (fields added since the backup stay).</summary>
    Update,
}

/// <summary>What to restore and how.</summary>
public sealed record ResourceRestoreRequest
{
    public IncludeExclude Namespaces { get; init; } = IncludeExclude.Everything;

    public IncludeExclude Resources { get; init; } = IncludeExclude.Everything;

    /// <summary><c>KIND/NAME</c> (kind, resource or short name, optionally <c>.group</c>): only these objects.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];

    public string? LabelSelector { get; init; }

    /// <summary>Source namespace to target namespace.</summary>
    public IReadOnlyDictionary<string, string> NamespaceMapping { get; init; } = new Dictionary<string, string>();

    public ExistingPolicy Existing { get; init; } = ExistingPolicy.Skip;

    /// <summary>Validate every write with the API's server-side dry run; change nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>How long a restored CustomResourceDefinition may take to become Established.</summary>
    public TimeSpan CrdTimeout { get; init; } = TimeSpan.FromMinutes(1);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
}

public enum RestoreOutcome
{
    Created,
    Updated,
    Unchanged,
    Skipped,
    Failed,
}

/// <summary>What happened to one object (or, in a dry run, what would).</summary>
public sealed record RestoredItem(string Resource, string? Namespace, string Name, RestoreOutcome Outcome, string? Message)
{
    public string Display => Namespace is null ? $"{Resource}/{Name}" : $"{Resource} {Namespace}/{Name}";
}

public sealed record RestoreReport(string Backup, bool DryRun, IReadOnlyList<RestoredItem> Items)
{
    public int Count(RestoreOutcome outcome) => Items.Count(i => i.Outcome == outcome);

    public bool HasFailures => Items.Any(i => i.Outcome == RestoreOutcome.Failed);
}

/// <summary>
/// Restores objects from a resource backup in dependency order: CRDs first (then waits until they are Established
/// and discovers again), namespaces, storage classes, volumes, service accounts, config maps, secrets, claims, RBAC,
/// services, workloads, the rest. Existing objects are skipped unless <see cref="ExistingPolicy.Update"/>; objects a
/// restored owner recreates (pods of a ReplicaSet of a Deployment) are left to it; owner references are re-pointed at
/// the live owners or dropped, as stale uids would make the garbage collector delete the restored object. Every object
/// gets one line in the report; one failure does not stop the rest.
/// </summary>
public sealed class ResourceRestorer(KubeClient client, IStepLog log, TimeProvider time)
{
    private static readonly KubeResource Crds = KubeResource.CustomResourceDefinitions;

    /// <exception cref="ResourceRefusedException">The filters select nothing, or a --name matches nothing.</exception>
    public async Task<RestoreReport> RestoreAsync(string backupName, IReadOnlyList<ArchivedObject> archived, ResourceRestoreRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(archived);
        ArgumentNullException.ThrowIfNull(request);
        var discovery = await ApiDiscovery.DiscoverAsync(client, cancellationToken);
        var selection = Select(archived, request, discovery);
        var run = new Run(backupName, request, selection, archived);
        await AddNeededNamespacesAsync(run, cancellationToken);
        AddNeededCrds(run, discovery);

        var ordered = run.Selected
            .OrderBy(o => RestorePreparation.Tier(o.Resource))
            .ThenBy(o => RestorePreparation.Tier(o.Resource) == 13 ? o.Resource : "", StringComparer.Ordinal)
            .ThenBy(o => o.Namespace ?? "", StringComparer.Ordinal)
            .ThenBy(o => o.Name, StringComparer.Ordinal)
            .ToList();
        log.Info($"{(request.DryRun ? "[dry run] " : "")}restoring {ordered.Count} object(s) from backup {backupName}");

        var crds = ordered.Where(o => RestorePreparation.Tier(o.Resource) == 0).ToList();
        foreach (var crd in crds)
        {
            await RestoreOneAsync(run, discovery, crd, cancellationToken);
        }

        if (crds.Count > 0 && !request.DryRun)
        {
            await WaitEstablishedAsync(run, crds, cancellationToken);
            discovery = await ApiDiscovery.DiscoverAsync(client, cancellationToken);
        }

        foreach (var item in ordered.Where(o => RestorePreparation.Tier(o.Resource) != 0))
        {
            await RestoreOneAsync(run, discovery, item, cancellationToken);
        }

        return new RestoreReport(backupName, request.DryRun, run.Report);
    }

    /// <summary>The archived objects the filters select.</summary>
    private static List<ArchivedObject> Select(IReadOnlyList<ArchivedObject> archived, ResourceRestoreRequest request, ApiDiscovery discovery)
    {
        var namespaces = new NamespaceFilter(request.Namespaces);
        var resources = new ResourceFilter(request.Resources);
        var labels = LabelSelectorExpression.Parse(request.LabelSelector);
        var names = request.Names.Select(ParseName).ToList();
        var selected = new List<ArchivedObject>();
        var matchedNames = new HashSet<int>();
        foreach (var item in archived)
        {
            var alias = AsServed(item, discovery);
            if (!resources.Selects(alias, RestorePreparation.DefaultExcluded))
            {
                continue;
            }

            var inNamespace = item.Namespace is not null ? namespaces.Includes(item.Namespace)
                : item.Resource == "namespaces" ? namespaces.Includes(item.Name)
                : request.Namespaces.SelectsEverything;
            if (!inNamespace)
            {
                continue;
            }

            var itemLabels = (item.Content["metadata"]?["labels"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => (string?)kv.Value ?? "");
            if (!labels.Matches(itemLabels))
            {
                continue;
            }

            if (names.Count > 0)
            {
                var hit = names.FindIndex(n => n.Name == item.Name && alias.IsNamedBy(n.Kind));
                if (hit < 0)
                {
                    continue;
                }

                matchedNames.Add(hit);
            }

            selected.Add(item);
        }

        for (var i = 0; i < names.Count; i++)
        {
            if (!matchedNames.Contains(i))
            {
                throw new ResourceRefusedException($"--name {request.Names[i]}: the backup has no such object within the other filters",
                    "see what it holds with lifeboat resources describe --details");
            }
        }

        if (selected.Count == 0)
        {
            throw new ResourceRefusedException("the filters select nothing in this backup", "see what it holds with lifeboat resources describe --details");
        }

        return selected;
    }

    private static (string Kind, string Name) ParseName(string value)
    {
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && slash < value.Length - 1 && value.IndexOf('/', slash + 1) < 0
            ? (value[..slash], value[(slash + 1)..])
            : throw new ArgumentException($"--name '{value}' is not KIND/NAME (e.g. deployment/web or configmaps/settings)");
    }

    /// <summary>
    /// An archived object's resource as a <see cref="ServedResource"/>, so that filters name it the same way as at
    /// backup (short names as this cluster serves them).
    /// </summary>
    private static ServedResource AsServed(ArchivedObject item, ApiDiscovery discovery)
    {
        var version = KubeResource.SplitApiVersion(item.ApiVersion).Version;
        var shortNames = discovery.FindPreferred(item.Group, item.Plural)?.ShortNames ?? [];
        return new ServedResource(new KubeResource(item.Group, version, item.Plural, item.Kind, item.Namespace is not null), [], shortNames, item.Kind.ToLowerInvariant(), true, false);
    }

    /// <summary>The target namespace of every selected object must exist: its backed-up Namespace object is restored with it when it does not.</summary>
    private async Task AddNeededNamespacesAsync(Run run, CancellationToken cancellationToken)
    {
        var targets = run.Selected.Where(o => o.Namespace is not null).Select(o => (Source: o.Namespace!, Target: run.Target(o.Namespace))).Distinct().ToList();
        foreach (var (source, target) in targets)
        {
            var live = await client.TryGetAsync<JsonObject>(KubeResource.Namespaces, null, target!, cancellationToken);
            if (live is not null)
            {
                if (live["metadata"]?["deletionTimestamp"] is not null)
                {
                    run.Terminating.Add(target!);
                }

                continue;
            }

            if (run.Selected.Any(o => o.Resource == "namespaces" && o.Name == source))
            {
                continue;
            }

            var archived = run.Archive.FirstOrDefault(o => o.Resource == "namespaces" && o.Name == source)
                ?? new ArchivedObject("namespaces", null, source, new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = source } });
            run.Selected.Add(archived);
        }
    }

    /// <summary>Custom objects whose CRD this cluster does not serve bring the CRD from the backup along.</summary>
    private static void AddNeededCrds(Run run, ApiDiscovery discovery)
    {
        foreach (var item in run.Selected.Where(o => o.Group.Contains('.', StringComparison.Ordinal)).ToList())
        {
            var crdName = $"{item.Plural}.{item.Group}";
            if (discovery.FindPreferred(item.Group, item.Plural) is null && !run.Selected.Any(o => o.Resource == Crds.QualifiedName && o.Name == crdName)
                && run.Archive.FirstOrDefault(o => o.Resource == Crds.QualifiedName && o.Name == crdName) is { } crd)
            {
                run.Selected.Add(crd);
            }
        }
    }

    private async Task RestoreOneAsync(Run run, ApiDiscovery discovery, ArchivedObject item, CancellationToken cancellationToken)
    {
        var target = run.Target(item.Namespace);
        var result = await TryRestoreAsync(run, discovery, item, target, cancellationToken);
        var restored = new RestoredItem(item.Resource, target, item.Resource == "namespaces" ? run.Target(item.Name)! : item.Name, result.Outcome, result.Message);
        run.Report.Add(restored);
        var verb = (run.Request.DryRun, result.Outcome) switch
        {
            (true, RestoreOutcome.Created) => "would create",
            (true, RestoreOutcome.Updated) => "would update",
            (_, var o) => o.ToString().ToLowerInvariant(),
        };
        var line = $"  {verb,-12} {restored.Display}{(result.Message is null ? "" : $": {result.Message}")}";
        if (result.Outcome == RestoreOutcome.Failed)
        {
            log.Warn(line.TrimStart());
        }
        else
        {
            log.Info(line);
        }
    }

    private async Task<(RestoreOutcome Outcome, string? Message)> TryRestoreAsync(Run run, ApiDiscovery discovery, ArchivedObject item, string? target,
        CancellationToken cancellationToken)
    {
        if (RestorePreparation.SkipReason(item) is { } reason)
        {
            return (RestoreOutcome.Skipped, reason);
        }

        if (target is not null && run.Terminating.Contains(target))
        {
            return (RestoreOutcome.Failed, $"namespace {target} is being deleted; wait until it is gone, then restore again");
        }

        if (run.FailedCrds.TryGetValue($"{item.Plural}.{item.Group}", out var crdProblem))
        {
            return (RestoreOutcome.Failed, crdProblem);
        }

        var served = discovery.Find(item.Group, item.Plural, KubeResource.SplitApiVersion(item.ApiVersion).Version);
        var pending = run.Request.DryRun ? run.PendingReason(item, target) : null;
        if (served is null && pending is not null)
        {
            return (RestoreOutcome.Created, $"not validated: {pending}");
        }

        if (served is null)
        {
            var other = discovery.FindPreferred(item.Group, item.Plural);
            return (RestoreOutcome.Failed, other is null
                ? $"{item.ApiVersion} {item.Kind} is not served by this cluster: install its API (CRD or operator) first"
                : $"{item.ApiVersion} is not served by this cluster (it serves {other.Resource.ApiVersion}): convert the object and apply it by hand");
        }

        if (!served.CanCreate)
        {
            return (RestoreOutcome.Skipped, $"the API does not allow creating {served.Name}");
        }

        var owners = await OwnersAsync(run, discovery, item, target, cancellationToken);
        if (owners.RecreatedBy is { } owner)
        {
            return (RestoreOutcome.Skipped, $"its owner {owner} is restored and recreates it");
        }

        var body = RestorePreparation.Prepare(item, target, run.Backup, run.Request.NamespaceMapping, run.VolumesRestored);
        if (owners.References is { } refs)
        {
            body["metadata"]!["ownerReferences"] = refs;
        }
        else
        {
            body["metadata"]!.AsObject().Remove("ownerReferences");
        }

        if (pending is not null)
        {
            return (RestoreOutcome.Created, $"not validated: {pending}");
        }

        var name = (string)body["metadata"]!["name"]!;
        try
        {
            await client.CreateObjectAsync(served.Resource, target, body, run.Request.DryRun, cancellationToken);
            if (item.Resource == "namespaces")
            {
                run.NamespacesCreated.Add(name);
            }

            if (item.Resource == Crds.QualifiedName)
            {
                run.CrdsCreated.Add(name);
            }

            return (RestoreOutcome.Created, owners.Note);
        }
        catch (KubeConflictException ex) when (ex.AlreadyExists)
        {
            return await ExistingAsync(run, served, target, name, body, cancellationToken);
        }
        catch (KubeException ex)
        {
            return (RestoreOutcome.Failed, ex.Message);
        }
    }

    /// <summary>An object of that name exists: skipped (saying whether it differs from the backup), or merged into.</summary>
    private async Task<(RestoreOutcome, string?)> ExistingAsync(Run run, ServedResource served, string? ns, string name, JsonObject body, CancellationToken cancellationToken)
    {
        try
        {
            var live = await client.GetAsync<JsonObject>(served.Resource, ns, name, cancellationToken);
            var patch = MergePatchOf(body);
            var merged = MergePatch.Apply(live, patch);
            var differs = !JsonNode.DeepEquals(merged, live);
            if (run.Request.Existing == ExistingPolicy.Skip)
            {
                return (RestoreOutcome.Skipped, differs ? "exists and differs from the backup (left as it is; --existing update merges the backup in)" : "exists, as in the backup");
            }

            if (!differs)
            {
                return (RestoreOutcome.Unchanged, "exists, as in the backup");
            }

            patch["metadata"] ??= new JsonObject();
            var annotations = patch["metadata"]!["annotations"] as JsonObject ?? [];
            annotations[RestorePreparation.RestoredFromAnnotation] = run.Backup;
            patch["metadata"]!["annotations"] = annotations;
            await client.PatchObjectAsync(served.Resource, ns, name, KubePatch.Merge(patch.ToJsonString()), run.Request.DryRun, cancellationToken);
            return (RestoreOutcome.Updated, null);
        }
        catch (KubeException ex)
        {
            return (RestoreOutcome.Failed, ex.Message);
        }
    }

    /// <summary>The backup's object as a merge patch: its fields without status, and of its metadata only labels and annotations.</summary>
    private static JsonObject MergePatchOf(JsonObject body)
    {
        var patch = (JsonObject)body.DeepClone();
        patch.Remove("apiVersion");
        patch.Remove("kind");
        patch.Remove("status");
        var meta = new JsonObject();
        if (body["metadata"]?["labels"] is JsonObject labels)
        {
            meta["labels"] = labels.DeepClone();
        }

        if (body["metadata"]?["annotations"] is JsonObject annotations)
        {
            var copy = (JsonObject)annotations.DeepClone();
            copy.Remove(RestorePreparation.RestoredFromAnnotation);
            if (copy.Count > 0)
            {
                meta["annotations"] = copy;
            }
        }

        patch.Remove("metadata");
        if (meta.Count > 0)
        {
            patch["metadata"] = meta;
        }

        return patch;
    }

    /// <summary>
    /// Owner references: when a controlling owner is restored too, the object is its to recreate; otherwise each
    /// reference is pointed at the live owner of that kind and name (its uid differs from the backed-up one), or
    /// dropped when there is none, as a reference to a missing uid makes the garbage collector delete the object.
    /// </summary>
    private async Task<(string? RecreatedBy, JsonArray? References, string? Note)> OwnersAsync(Run run, ApiDiscovery discovery, ArchivedObject item,
        string? target, CancellationToken cancellationToken)
    {
        if (item.Content["metadata"]?["ownerReferences"] is not JsonArray refs || refs.Count == 0)
        {
            return (null, null, null);
        }

        foreach (var r in refs.OfType<JsonObject>())
        {
            if ((bool?)r["controller"] == true && run.Selected.Any(o => o.Kind == (string?)r["kind"] && o.Name == (string?)r["name"]
                && (o.Namespace == item.Namespace || o.Namespace is null)))
            {
                return ($"{r["kind"]}/{r["name"]}", null, null);
            }
        }

        var kept = new JsonArray();
        var dropped = new List<string>();
        foreach (var r in refs.OfType<JsonObject>())
        {
            var (group, version) = KubeResource.SplitApiVersion((string?)r["apiVersion"] ?? "");
            var served = discovery.Resources.FirstOrDefault(s => s.Resource.Group == group && s.Resource.Version == version && s.Resource.Kind == (string?)r["kind"]);
            JsonObject? live = null;
            if (served is not null)
            {
                try
                {
                    live = await client.TryGetAsync<JsonObject>(served.Resource, served.Resource.Namespaced ? target : null, (string)r["name"]!, cancellationToken);
                }
                catch (KubeException)
                {
                }
            }

            if (live?["metadata"]?["uid"] is { } uid)
            {
                var copy = (JsonObject)r.DeepClone();
                copy["uid"] = uid.DeepClone();
                kept.Add(copy);
            }
            else
            {
                dropped.Add($"{r["kind"]}/{r["name"]}");
            }
        }

        var note = dropped.Count == 0 ? null : $"its owner {string.Join(", ", dropped)} does not exist here: restored without that owner reference";
        return (null, kept.Count > 0 ? kept : null, note);
    }

    private async Task WaitEstablishedAsync(Run run, List<ArchivedObject> crds, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + run.Request.CrdTimeout;
        foreach (var crd in crds)
        {
            while (true)
            {
                JsonObject? live;
                try
                {
                    live = await client.TryGetAsync<JsonObject>(Crds, null, crd.Name, cancellationToken);
                }
                catch (KubeException ex)
                {
                    run.FailedCrds[crd.Name] = $"its CustomResourceDefinition {crd.Name} could not be read: {ex.Message}";
                    break;
                }

                var established = (live?["status"]?["conditions"] as JsonArray ?? [])
                    .Any(c => (string?)c?["type"] == "Established" && (string?)c?["status"] == "True");
                if (established)
                {
                    break;
                }

                if (live is null || time.GetUtcNow() >= deadline)
                {
                    run.FailedCrds[crd.Name] = live is null
                        ? $"its CustomResourceDefinition {crd.Name} was not restored"
                        : $"its CustomResourceDefinition {crd.Name} did not become Established within {run.Request.CrdTimeout.TotalSeconds:0} s";
                    break;
                }

                await Task.Delay(run.Request.PollInterval, time, cancellationToken);
            }
        }
    }

    private sealed class Run(string backup, ResourceRestoreRequest request, List<ArchivedObject> selected, IReadOnlyList<ArchivedObject> archive)
    {
        public string Backup => backup;

        public ResourceRestoreRequest Request => request;

        public List<ArchivedObject> Selected => selected;

        public IReadOnlyList<ArchivedObject> Archive => archive;

        public List<RestoredItem> Report { get; } = [];

        public HashSet<string> Terminating { get; } = new(StringComparer.Ordinal);

        public HashSet<string> NamespacesCreated { get; } = new(StringComparer.Ordinal);

        public HashSet<string> CrdsCreated { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, string> FailedCrds { get; } = new(StringComparer.Ordinal);

        public IReadOnlySet<string> VolumesRestored => field ??= selected.Where(o => o.Resource == "persistentvolumes" && RestorePreparation.SkipReason(o) is null)
            .Select(o => o.Name).ToHashSet(StringComparer.Ordinal);

        public string? Target(string? ns) => ns is null ? null : request.NamespaceMapping.GetValueOrDefault(ns, ns);

        /// <summary>In a dry run, why the server cannot validate this object: what it needs is only created by this restore.</summary>
        public string? PendingReason(ArchivedObject item, string? target)
        {
            if (target is not null && NamespacesCreated.Contains(target))
            {
                return $"namespace {target} does not exist yet";
            }

            var crd = $"{item.Plural}.{item.Group}";
            return CrdsCreated.Contains(crd) ? $"its CustomResourceDefinition {crd} is not installed yet" : null;
        }
    }
}

/// <summary>RFC 7386 JSON merge patch, applied locally to tell whether a patch would change anything.</summary>
public static class MergePatch
{
    public static JsonNode? Apply(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject t ? (JsonObject)t.DeepClone() : [];
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = Apply(result[key], value);
            }
        }

        return result;
    }
}
