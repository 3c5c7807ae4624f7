using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lifeboat.Testing.Kube;

/// <summary>One RBAC rule: verbs on resources (<c>plural</c> or <c>plural/subresource</c>) of a group, optionally in one namespace.</summary>
public sealed record RbacRule(string[] Verbs, string Group, string[] Resources, string? Namespace = null)
{
    public bool Allows(string verb, string group, string resource, string? ns) =>
        (Verbs.Contains("*") || Verbs.Contains(verb)) && (Group == "*" || Group == group)
        && (Resources.Contains("*") || Resources.Contains(resource)) && (Namespace is null || Namespace == ns);
}

/// <summary>
/// A Kubernetes API server for tests: Kestrel on a loopback port, speaking the REST protocol for the resources
/// registered with it, with the semantics Lifeboat relies on and the real server has: a resourceVersion that grows
/// with every change, 409 on a stale update or an existing name, the status subresource apart from the spec
/// (and generation bumped by spec changes only), label and field selectors, paging with <c>continue</c>, watch
/// from a resourceVersion with bookmarks and a 410 "too old" once history is compacted, finalizers holding
/// deletion, namespaces that must exist, and RBAC by bearer token with the real 403 message. Nothing else.
/// </summary>
public sealed class TestApiServer : IAsyncDisposable
{
    public const string AdminToken = "test-admin-token";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, KubeResource> _resources = new(StringComparer.Ordinal);
    private readonly HashSet<string> _withStatus = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
    private readonly List<(long Version, KubeResource Resource, string Type, JsonObject Item)> _history = [];
    private readonly List<Watcher> _watchers = [];
    private readonly Dictionary<string, (string User, RbacRule[] Rules)> _identities = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private WebApplication? _app;
    private long _version = 1000;
    private long _compactedThrough;

    private TestApiServer(TimeProvider time)
    {
        _time = time;
        _identities[AdminToken] = ("test-admin", [new RbacRule(["*"], "*", ["*"])]);
        foreach (var resource in new[]
        {
            KubeResource.Namespaces, KubeResource.PersistentVolumeClaims, KubeResource.PersistentVolumes, KubeResource.Pods,
            KubeResource.Events, KubeResource.ConfigMaps, KubeResource.Secrets, KubeResource.StorageClasses, KubeResource.Deployments,
            KubeResource.StatefulSets, KubeResource.ReplicaSets, KubeResource.VolumeSnapshots, KubeResource.VolumeSnapshotContents, KubeResource.VolumeSnapshotClasses,
            ServiceAccounts, Services, Roles, RoleBindings, ClusterRoles, CustomResourceDefinitions,
        })
        {
            Serve(resource, hasStatus: resource.Plural is not ("configmaps" or "secrets" or "storageclasses" or "volumesnapshotclasses" or "events"
                or "serviceaccounts" or "roles" or "rolebindings" or "clusterroles"));
        }
    }

    public static readonly KubeResource ServiceAccounts = new("", "v1", "serviceaccounts", "ServiceAccount", true);
    public static readonly KubeResource Services = new("", "v1", "services", "Service", true);
    public static readonly KubeResource Roles = new("rbac.authorization.k8s.io", "v1", "roles", "Role", true);
    public static readonly KubeResource RoleBindings = new("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true);
    public static readonly KubeResource ClusterRoles = new("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false);
    public static readonly KubeResource CustomResourceDefinitions = KubeResource.CustomResourceDefinitions;

    public Uri Url { get; private set; } = null!;

    /// <summary>How long a new CustomResourceDefinition takes to become Established (its objects are served from then on).</summary>
    public TimeSpan CrdEstablishDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a deleted namespace stays Terminating (refusing new objects) before it and its objects are gone; zero removes at once.</summary>
    public TimeSpan NamespaceTermination { get; set; }

    /// <summary>Group versions (<c>v1</c>, <c>apps/v1</c>) whose discovery answers 503, as an aggregated API whose backend is down.</summary>
    public HashSet<string> UnavailableGroupVersions { get; } = new(StringComparer.Ordinal);

    /// <summary>What <c>/version</c> answers.</summary>
    public string GitVersion { get; set; } = "v1.31.4";

    /// <summary>The server's clock (creationTimestamps); simulated controllers use it too.</summary>
    public TimeProvider Time => _time;

    /// <summary>How often watches get a BOOKMARK when they asked for them.</summary>
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Requests served, by "VERB path" (for tests that count calls).</summary>
    public List<string> Requests { get; } = [];

    /// <summary>
    /// Starts on a loopback port: plain HTTP, or HTTPS with <paramref name="tls"/>'s server certificate, where a client
    /// certificate the test CA issued authenticates as its CN (register it with <c>AddIdentity("cert:&lt;CN&gt;", ...)</c>),
    /// as the real server maps client certificates to users.
    /// </summary>
    public static async Task<TestApiServer> StartAsync(TimeProvider? time = null, TestCertificates? tls = null)
    {
        var server = new TestApiServer(time ?? TimeProvider.System);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (tls is null)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        else
        {
            var certificate = X509Certificate2.CreateFromPemFile(tls.ServerCertFile, tls.ServerKeyFile);
            var ca = X509CertificateLoader.LoadCertificateFromFile(tls.CaCertFile);
            builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(https =>
            {
                https.ServerCertificate = certificate;
                https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                https.ClientCertificateValidation = (cert, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(cert);
                };
            })));
        }

        var app = builder.Build();
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        server.CreateNamespace("default");
        return server;
    }

    /// <summary>Serves another resource (a CRD's objects, for instance).</summary>
    public void Serve(KubeResource resource, bool hasStatus)
    {
        lock (_lock)
        {
            _resources[Route(resource.Group, resource.Plural)] = resource;
            if (hasStatus)
            {
                _withStatus.Add(resource.QualifiedName);
            }
        }
    }

    /// <summary>Adds a bearer token for an identity allowed exactly <paramref name="rules"/>.</summary>
    public void AddIdentity(string token, string user, params RbacRule[] rules)
    {
        lock (_lock)
        {
            _identities[token] = (user, rules);
        }
    }

    /// <summary>Revokes a token: requests with it get 401 from now on.</summary>
    public void RemoveIdentity(string token)
    {
        lock (_lock)
        {
            _identities.Remove(token);
        }
    }

    /// <summary>A connection for the client, as a kubeconfig would give (plain HTTP on loopback).</summary>
    public KubeConnection Connection(string token = AdminToken, string ns = "default") => new()
    {
        Server = Url,
        Namespace = ns,
        Configuration = new k8s.KubernetesClientConfiguration { Host = Url.ToString(), Namespace = ns, AccessToken = token },
        Identity = "bearer token",
        Source = "test API server",
    };

    /// <summary>A kubeconfig for this server (plain HTTP) with a bearer token, as a file would hold it.</summary>
    public string Kubeconfig(string token, string ns) => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: test
          cluster:
            server: {Url.ToString().TrimEnd('/')}
        users:
        - name: user
          user:
            token: {token}
        contexts:
        - name: test
          context:
            cluster: test
            user: user
            namespace: {ns}
        current-context: test
        """;

    public void CreateNamespace(string name) =>
        Seed(KubeResource.Namespaces, new JsonObject { ["metadata"] = new JsonObject { ["name"] = name } });

    /// <summary>Creates or replaces an object directly (no RBAC, status kept), as a controller would.</summary>
    public JsonObject Seed(KubeResource resource, JsonObject item)
    {
        lock (_lock)
        {
            var meta = item["metadata"]!.AsObject();
            var key = Key(resource, (string?)meta["namespace"], (string)meta["name"]!);
            var exists = _objects.TryGetValue(key, out var existing);
            if (existing is not null)
            {
                meta["uid"] = existing["metadata"]!["uid"]!.DeepClone();
                meta["creationTimestamp"] = existing["metadata"]!["creationTimestamp"]!.DeepClone();
            }
            else
            {
                meta["uid"] ??= Guid.NewGuid().ToString();
                meta["creationTimestamp"] ??= Now();
                meta["generation"] ??= 1;
            }

            item["apiVersion"] ??= resource.ApiVersion;
            item["kind"] ??= resource.Kind;
            Commit(resource, key, item, exists ? "MODIFIED" : "ADDED");
            return (JsonObject)item.DeepClone();
        }
    }

    /// <summary>A copy of the stored object, or null.</summary>
    public JsonObject? Peek(KubeResource resource, string? ns, string name)
    {
        lock (_lock)
        {
            return _objects.TryGetValue(Key(resource, ns, name), out var item) ? (JsonObject)item.DeepClone() : null;
        }
    }

    /// <summary>
    /// Changes an object in place as a controller would (status included), bumping its resourceVersion when something
    /// changed; an object being deleted whose last finalizer goes is removed. False when the object does not exist.
    /// </summary>
    public bool Mutate(KubeResource resource, string? ns, string name, Action<JsonObject> change)
    {
        lock (_lock)
        {
            var key = Key(resource, ns, name);
            if (!_objects.TryGetValue(key, out var current))
            {
                return false;
            }

            var item = (JsonObject)current.DeepClone();
            change(item);
            if (JsonNode.DeepEquals(item, current))
            {
                return true;
            }

            if (item["metadata"]!["deletionTimestamp"] is not null && (item["metadata"]!["finalizers"] as JsonArray ?? []).Count == 0)
            {
                _objects.Remove(key);
                Record(resource, "DELETED", item);
                return true;
            }

            Commit(resource, key, item, "MODIFIED");
            return true;
        }
    }

    /// <summary>Copies of every stored object of a resource (in one namespace, or all when <paramref name="ns"/> is null).</summary>
    public List<JsonObject> All(KubeResource resource, string? ns = null)
    {
        lock (_lock)
        {
            return Matching(resource, ns, LabelSelectorExpression.Parse(null), []).Select(i => (JsonObject)i.DeepClone()).ToList();
        }
    }

    /// <summary>Removes an object at once, finalizers or not, as the garbage collector would after they are done.</summary>
    public bool Remove(KubeResource resource, string? ns, string name)
    {
        lock (_lock)
        {
            var key = Key(resource, ns, name);
            if (!_objects.Remove(key, out var gone))
            {
                return false;
            }

            Record(resource, "DELETED", gone);
            return true;
        }
    }

    /// <summary>Forgets watch history: a watch from any version before now then gets 410 Gone, as after etcd compaction.</summary>
    public void CompactHistory()
    {
        lock (_lock)
        {
            _compactedThrough = _version;
            _history.Clear();
        }
    }

    private async Task HandleAsync(HttpContext http)
    {
        var request = http.Request;
        lock (_lock)
        {
            Requests.Add($"{request.Method} {request.Path}{request.QueryString}");
        }

        if (request.Method == "GET" && Discovery(request.Path.Value ?? "") is { } document)
        {
            if (Identify(http).User is null) // discovery is open to every authenticated user
            {
                await WriteStatusAsync(http, HttpStatusCode.Unauthorized, "Unauthorized", "Unauthorized");
                return;
            }

            if (document.Count == 0)
            {
                await WriteStatusAsync(http, HttpStatusCode.ServiceUnavailable, "ServiceUnavailable", "the server is currently unable to handle the request");
                return;
            }

            await WriteJsonAsync(http, HttpStatusCode.OK, document);
            return;
        }

        if (!TryRoute(request.Path.Value ?? "", out var resource, out var ns, out var name, out var sub))
        {
            await WriteStatusAsync(http, HttpStatusCode.NotFound, "NotFound", "the server could not find the requested resource");
            return;
        }

        var watch = request.Query["watch"] is var w && (w == "1" || w == "true");
        var verb = (request.Method, name is null) switch
        {
            ("GET", true) => watch ? "watch" : "list",
            ("GET", false) => "get",
            ("POST", true) => "create",
            ("PUT", false) => "update",
            ("PATCH", false) => "patch",
            ("DELETE", false) => "delete",
            _ => null,
        };
        if (verb is null)
        {
            await WriteStatusAsync(http, HttpStatusCode.MethodNotAllowed, "MethodNotAllowed", $"the server does not allow this method on the requested resource");
            return;
        }

        var identity = Identify(http);
        if (identity.User is null)
        {
            await WriteStatusAsync(http, HttpStatusCode.Unauthorized, "Unauthorized", "Unauthorized");
            return;
        }

        var rbacResource = sub is null ? resource.Plural : $"{resource.Plural}/{sub}";
        if (!(identity.Rules ?? []).Any(r => r.Allows(verb, resource.Group, rbacResource, resource.Namespaced ? ns : null)))
        {
            var what = name is null ? resource.QualifiedName : $"{resource.QualifiedName} \"{name}\"";
            var scope = resource.Namespaced && ns is not null ? $"in the namespace \"{ns}\"" : "at the cluster scope";
            await WriteStatusAsync(http, HttpStatusCode.Forbidden, "Forbidden",
                $"{what} is forbidden: User \"{identity.User}\" cannot {verb} resource \"{rbacResource}\" in API group \"{resource.Group}\" {scope}",
                name, resource);
            return;
        }

        try
        {
            switch (verb)
            {
                case "get":
                    await WriteJsonAsync(http, HttpStatusCode.OK, View(resource, ns, name!, sub));
                    break;
                case "list":
                    await WriteJsonAsync(http, HttpStatusCode.OK, List(resource, ns, request.Query));
                    break;
                case "watch":
                    await WatchAsync(http, resource, ns);
                    break;
                case "create":
                    await WriteJsonAsync(http, HttpStatusCode.Created, Create(resource, ns, await BodyAsync(http), request.Query["dryRun"] == "All"));
                    break;
                case "update":
                    await WriteJsonAsync(http, HttpStatusCode.OK, Update(resource, ns, name!, sub, await BodyAsync(http), request.Query["dryRun"] == "All"));
                    break;
                case "patch":
                    var patchBody = await new StreamReader(request.Body).ReadToEndAsync();
                    await WriteJsonAsync(http, HttpStatusCode.OK, PatchLatest(resource, ns, name!, sub, request.ContentType ?? "", patchBody, request.Query["dryRun"] == "All"));
                    break;
                case "delete":
                    await WriteJsonAsync(http, HttpStatusCode.OK, Delete(resource, ns, name!, request.ContentLength > 0 ? await BodyAsync(http) : null,
                        request.Query["dryRun"] == "All"));
                    break;
            }
        }
        catch (ApiError error)
        {
            await WriteStatusAsync(http, error.Code, error.Reason, error.Message, name, resource);
        }
    }

    /// <summary>The object, or its <c>scale</c> subresource (autoscaling/v1 Scale) for the kinds that have one.</summary>
    private JsonObject View(KubeResource resource, string? ns, string name, string? sub)
    {
        var item = Get(resource, ns, name);
        switch (sub)
        {
            case null or "status":
                return item;
            case "scale" when HasScale(resource):
                var meta = item["metadata"]!;
                return new JsonObject
                {
                    ["apiVersion"] = "autoscaling/v1",
                    ["kind"] = "Scale",
                    ["metadata"] = new JsonObject
                    {
                        ["name"] = meta["name"]!.DeepClone(),
                        ["namespace"] = meta["namespace"]!.DeepClone(),
                        ["uid"] = meta["uid"]!.DeepClone(),
                        ["resourceVersion"] = meta["resourceVersion"]!.DeepClone(),
                        ["creationTimestamp"] = meta["creationTimestamp"]!.DeepClone(),
                    },
                    ["spec"] = new JsonObject { ["replicas"] = item["spec"]?["replicas"]?.DeepClone() ?? 1 },
                    ["status"] = new JsonObject
                    {
                        ["replicas"] = item["status"]?["replicas"]?.DeepClone() ?? 0,
                        ["selector"] = LabelSelectorText(item["spec"]?["selector"]),
                    },
                };
            default:
                throw new ApiError(HttpStatusCode.NotFound, "NotFound", "the server could not find the requested resource");
        }
    }

    private static bool HasScale(KubeResource resource) => resource.Group == "apps" && resource.Plural is "deployments" or "statefulsets" or "replicasets";

    private static string LabelSelectorText(JsonNode? selector) =>
        string.Join(',', (selector?["matchLabels"] as JsonObject ?? []).Select(kv => $"{kv.Key}={kv.Value}"));

    private JsonObject Get(KubeResource resource, string? ns, string name)
    {
        lock (_lock)
        {
            return _objects.TryGetValue(Key(resource, ns, name), out var item)
                ? (JsonObject)item.DeepClone()
                : throw NotFound(resource, name);
        }
    }

    private JsonObject List(KubeResource resource, string? ns, IQueryCollection query)
    {
        LabelSelectorExpression labels;
        try
        {
            labels = LabelSelectorExpression.Parse(query["labelSelector"]);
        }
        catch (FormatException ex)
        {
            throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", $"unable to parse requirement: {ex.Message}");
        }

        var fields = ParseFieldSelector(resource, query["fieldSelector"]);
        lock (_lock)
        {
            var matching = Matching(resource, ns, labels, fields).ToList();
            var offset = 0;
            if (query["continue"] is { Count: > 0 } token && token[0] is { Length: > 0 } t)
            {
                var parts = Encoding.UTF8.GetString(Convert.FromBase64String(t)).Split('|');
                if (long.Parse(parts[0], CultureInfo.InvariantCulture) < _compactedThrough)
                {
                    throw new ApiError(HttpStatusCode.Gone, "Expired", "The provided continue parameter is too old to display a consistent list result.");
                }

                offset = int.Parse(parts[1], CultureInfo.InvariantCulture);
            }

            var limit = int.TryParse(query["limit"], out var l) && l > 0 ? l : int.MaxValue;
            var page = matching.Skip(offset).Take(limit).ToList();
            var metadata = new JsonObject { ["resourceVersion"] = _version.ToString(CultureInfo.InvariantCulture) };
            if (offset + page.Count < matching.Count)
            {
                metadata["continue"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_version}|{offset + page.Count}"));
                metadata["remainingItemCount"] = matching.Count - offset - page.Count;
            }

            return new JsonObject
            {
                ["apiVersion"] = resource.ApiVersion,
                ["kind"] = resource.Kind + "List",
                ["metadata"] = metadata,
                ["items"] = new JsonArray(page.Select(i => (JsonNode)i.DeepClone()).ToArray()),
            };
        }
    }

    private IEnumerable<JsonObject> Matching(KubeResource resource, string? ns, LabelSelectorExpression labels, Dictionary<string, string> fields)
    {
        var prefix = resource.QualifiedName + "/" + (resource.Namespaced && ns is not null ? ns + "/" : "");
        return _objects.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(kv => kv.Value)
            .Where(item => Selected(item, labels, fields));
    }

    private static bool Selected(JsonObject item, LabelSelectorExpression labels, Dictionary<string, string> fields)
    {
        var meta = item["metadata"]!.AsObject();
        var itemLabels = meta["labels"]?.AsObject().ToDictionary(kv => kv.Key, kv => (string)kv.Value!) ?? [];
        return labels.Matches(itemLabels) && fields.All(f => FieldValue(item, f.Key) == f.Value);
    }

    /// <summary>A field by its dotted path ("" when absent, as the real server compares it).</summary>
    private static string FieldValue(JsonObject item, string path)
    {
        JsonNode? node = item;
        foreach (var part in path.Split('.'))
        {
            node = node?[part];
        }

        return node?.ToString() ?? "";
    }

    /// <summary>The field selectors the real server supports: metadata.name and .namespace everywhere, plus per-kind fields.</summary>
    private static readonly Dictionary<string, string[]> FieldLabels = new(StringComparer.Ordinal)
    {
        ["events"] = ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion",
            "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"],
        ["pods"] = ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "status.phase", "status.podIP", "status.nominatedNodeName"],
    };

    private static Dictionary<string, string> ParseFieldSelector(KubeResource resource, string? selector)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var term in (selector ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = term.Split('=', 2);
            var field = parts[0].TrimEnd('=');
            if (parts.Length != 2 || (field is not ("metadata.name" or "metadata.namespace") && !FieldLabels.GetValueOrDefault(resource.Plural, []).Contains(field)))
            {
                throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", $"field label not supported: {parts[0]}");
            }

            fields[field] = parts[1].TrimStart('=');
        }

        return fields;
    }

    private async Task WatchAsync(HttpContext http, KubeResource resource, string? ns)
    {
        var query = http.Request.Query;
        var labels = LabelSelectorExpression.Parse(query["labelSelector"]);
        var fields = ParseFieldSelector(resource, query["fieldSelector"]);
        var bookmarks = query["allowWatchBookmarks"] == "true";
        var timeout = int.TryParse(query["timeoutSeconds"], out var seconds) ? TimeSpan.FromSeconds(seconds) : Timeout.InfiniteTimeSpan;
        var watcher = new Watcher(resource, ns, labels, fields);
        var backlog = new List<(string Type, JsonObject Item)>();
        string? tooOld = null;
        lock (_lock)
        {
            var from = query["resourceVersion"].ToString();
            if (string.IsNullOrEmpty(from) || from == "0")
            {
                backlog.AddRange(Matching(resource, ns, labels, fields).Select(i => ("ADDED", (JsonObject)i.DeepClone())));
            }
            else if (long.Parse(from, CultureInfo.InvariantCulture) < _compactedThrough)
            {
                tooOld = $"too old resource version: {from} ({_compactedThrough})";
            }
            else
            {
                var since = long.Parse(from, CultureInfo.InvariantCulture);
                backlog.AddRange(_history.Where(h => h.Version > since && watcher.Wants(h.Resource, h.Item)).Select(h => (h.Type, (JsonObject)h.Item.DeepClone())));
            }

            if (tooOld is null)
            {
                _watchers.Add(watcher);
            }
        }

        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        try
        {
            if (tooOld is not null)
            {
                await WriteEventAsync(http, "ERROR", StatusJson(HttpStatusCode.Gone, "Expired", tooOld, null, null));
                return;
            }

            foreach (var (type, item) in backlog)
            {
                await WriteEventAsync(http, type, item);
            }

            using var end = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
            end.CancelAfter(timeout);
            var nextBookmark = _time.GetUtcNow() + BookmarkInterval;
            while (!end.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(end.Token);
                wait.CancelAfter(BookmarkInterval);
                try
                {
                    var (type, item) = await watcher.Events.Reader.ReadAsync(wait.Token);
                    await WriteEventAsync(http, type, item);
                }
                catch (OperationCanceledException) when (!end.IsCancellationRequested)
                {
                }

                if (bookmarks && _time.GetUtcNow() >= nextBookmark)
                {
                    string version;
                    lock (_lock)
                    {
                        version = _version.ToString(CultureInfo.InvariantCulture);
                    }

                    await WriteEventAsync(http, "BOOKMARK", new JsonObject
                    {
                        ["apiVersion"] = resource.ApiVersion,
                        ["kind"] = resource.Kind,
                        ["metadata"] = new JsonObject { ["resourceVersion"] = version },
                    });
                    nextBookmark = _time.GetUtcNow() + BookmarkInterval;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            lock (_lock)
            {
                _watchers.Remove(watcher);
            }
        }
    }

    private static async Task WriteEventAsync(HttpContext http, string type, JsonObject item)
    {
        var line = new JsonObject { ["type"] = type, ["object"] = item }.ToJsonString() + "\n";
        await http.Response.WriteAsync(line, http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    private JsonObject Create(KubeResource resource, string? ns, JsonObject item, bool dryRun)
    {
        var meta = item["metadata"] as JsonObject ?? throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "metadata is required");
        if (resource.Namespaced)
        {
            if ((string?)meta["namespace"] is { } bodyNs && bodyNs != ns)
            {
                throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
            }

            meta["namespace"] = ns;
        }

        lock (_lock)
        {
            JsonObject? nsObject = null;
            if (resource.Namespaced && !_objects.TryGetValue(Key(KubeResource.Namespaces, null, ns!), out nsObject))
            {
                throw new ApiError(HttpStatusCode.NotFound, "NotFound", $"namespaces \"{ns}\" not found");
            }

            if (nsObject?["metadata"]?["deletionTimestamp"] is not null)
            {
                throw new ApiError(HttpStatusCode.Forbidden, "Forbidden",
                    $"{resource.QualifiedName} \"{(string?)meta["name"]}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated");
            }

            if ((string?)meta["name"] is not { Length: > 0 })
            {
                meta["name"] = (string?)meta["generateName"] is { Length: > 0 } prefix
                    ? prefix + Guid.NewGuid().ToString("N")[..5]
                    : throw new ApiError(HttpStatusCode.UnprocessableEntity, "Invalid", $"{resource.Kind} \"\" is invalid: metadata.name: Required value: name or generateName is required");
            }

            var name = (string)meta["name"]!;
            var key = Key(resource, ns, name);
            if (_objects.ContainsKey(key))
            {
                throw new ApiError(HttpStatusCode.Conflict, "AlreadyExists", $"{resource.QualifiedName} \"{name}\" already exists");
            }

            item["apiVersion"] = resource.ApiVersion;
            item["kind"] = resource.Kind;
            if (resource == KubeResource.PersistentVolumeClaims && item["spec"] is JsonObject claimSpec && !claimSpec.ContainsKey("storageClassName"))
            {
                // The DefaultStorageClass admission plugin: a claim that names no class gets the default one.
                claimSpec["storageClassName"] = Matching(KubeResource.StorageClasses, null, LabelSelectorExpression.Parse(null), [])
                    .Where(c => (string?)c["metadata"]?["annotations"]?["storageclass.kubernetes.io/is-default-class"] == "true")
                    .Select(c => c["metadata"]!["name"]!.DeepClone()).FirstOrDefault();
            }

            Admission.Admit(resource, item, null);
            meta["uid"] = Guid.NewGuid().ToString();
            meta["creationTimestamp"] = Now();
            meta["generation"] = 1;
            meta.Remove("resourceVersion");
            meta.Remove("deletionTimestamp");
            if (_withStatus.Contains(resource.QualifiedName))
            {
                item.Remove("status"); // the status subresource is written apart
            }

            if (dryRun)
            {
                return item;
            }

            Commit(resource, key, item, "ADDED");
            return (JsonObject)item.DeepClone();
        }
    }

    private JsonObject Update(KubeResource resource, string? ns, string name, string? sub, JsonObject item, bool dryRun = false)
    {
        if (sub == "scale" && HasScale(resource))
        {
            var replicas = item["spec"]?["replicas"]?.GetValue<int>() ?? 0;
            if (replicas < 0)
            {
                throw new ApiError(HttpStatusCode.UnprocessableEntity, "Invalid",
                    $"Scale.autoscaling \"{name}\" is invalid: spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0");
            }

            lock (_lock)
            {
                var whole = Get(resource, ns, name);
                whole["metadata"]!["resourceVersion"] = (string?)item["metadata"]?["resourceVersion"] ?? (string?)whole["metadata"]!["resourceVersion"];
                whole["spec"]!["replicas"] = replicas;
                Update(resource, ns, name, null, whole);
                return View(resource, ns, name, sub);
            }
        }

        if (sub is not (null or "status"))
        {
            throw new ApiError(HttpStatusCode.NotFound, "NotFound", $"the server could not find the requested resource ({sub})");
        }

        lock (_lock)
        {
            var key = Key(resource, ns, name);
            if (!_objects.TryGetValue(key, out var current))
            {
                throw NotFound(resource, name);
            }

            var sent = (string?)item["metadata"]?["resourceVersion"];
            var have = (string)current["metadata"]!["resourceVersion"]!;
            if (sent is { Length: > 0 } && sent != have)
            {
                throw new ApiError(HttpStatusCode.Conflict, "Conflict",
                    $"Operation cannot be fulfilled on {resource.QualifiedName} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
            }

            JsonObject next;
            if (sub == "status")
            {
                if (!_withStatus.Contains(resource.QualifiedName))
                {
                    throw new ApiError(HttpStatusCode.NotFound, "NotFound", "the server could not find the requested resource");
                }

                next = (JsonObject)current.DeepClone();
                next["status"] = item["status"]?.DeepClone();
            }
            else
            {
                next = (JsonObject)item.DeepClone();
                var meta = next["metadata"]!.AsObject();
                var was = current["metadata"]!;
                foreach (var kept in new[] { "uid", "creationTimestamp", "namespace", "name", "deletionTimestamp", "generation" })
                {
                    meta[kept] = was[kept]?.DeepClone();
                }

                if (_withStatus.Contains(resource.QualifiedName))
                {
                    next["status"] = current["status"]?.DeepClone();
                }

                Admission.Admit(resource, next, current);

                if (!JsonNode.DeepEquals(current["spec"], next["spec"]))
                {
                    meta["generation"] = long.Parse(was["generation"]?.ToJsonString() ?? "1", CultureInfo.InvariantCulture) + 1;
                }
            }

            next["apiVersion"] = resource.ApiVersion;
            next["kind"] = resource.Kind;
            if (dryRun)
            {
                return next;
            }

            if (next["metadata"]!["deletionTimestamp"] is not null && (next["metadata"]!["finalizers"] as JsonArray ?? []).Count == 0)
            {
                _objects.Remove(key);
                Record(resource, "DELETED", next);
                return next;
            }

            Commit(resource, key, next, "MODIFIED");
            return (JsonObject)next.DeepClone();
        }
    }

    private JsonObject Delete(KubeResource resource, string? ns, string name, JsonObject? options, bool dryRun)
    {
        lock (_lock)
        {
            var key = Key(resource, ns, name);
            if (!_objects.TryGetValue(key, out var current))
            {
                throw NotFound(resource, name);
            }

            var meta = current["metadata"]!;
            if ((string?)options?["preconditions"]?["uid"] is { } uid && uid != (string?)meta["uid"])
            {
                throw new ApiError(HttpStatusCode.Conflict, "Conflict",
                    $"Operation cannot be fulfilled on {resource.QualifiedName} \"{name}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {meta["uid"]}");
            }

            if ((string?)options?["preconditions"]?["resourceVersion"] is { } rv && rv != (string?)meta["resourceVersion"])
            {
                throw new ApiError(HttpStatusCode.Conflict, "Conflict",
                    $"Operation cannot be fulfilled on {resource.QualifiedName} \"{name}\": Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {meta["resourceVersion"]}");
            }

            if (dryRun)
            {
                return (JsonObject)current.DeepClone();
            }

            if (resource == KubeResource.Namespaces)
            {
                return DeleteNamespace(name, current);
            }

            if (resource == CustomResourceDefinitions)
            {
                Unserve(current);
            }

            if ((meta["finalizers"] as JsonArray)?.Count > 0)
            {
                if (meta["deletionTimestamp"] is null)
                {
                    var next = (JsonObject)current.DeepClone();
                    next["metadata"]!["deletionTimestamp"] = Now();
                    Commit(resource, key, next, "MODIFIED");
                    return (JsonObject)next.DeepClone();
                }

                return (JsonObject)current.DeepClone();
            }

            _objects.Remove(key);
            var gone = (JsonObject)current.DeepClone();
            Record(resource, "DELETED", gone);
            return gone;
        }
    }

    /// <summary>RFC 7386 merge patch or RFC 6902 JSON patch (add, remove, replace, test).</summary>
    /// <summary>
    /// A patch is applied to the latest object: as the real API server does, a conflict with a concurrent write is
    /// retried, unless the patch itself names a resourceVersion (then the conflict is the client's to see).
    /// </summary>
    private JsonObject PatchLatest(KubeResource resource, string? ns, string name, string? sub, string contentType, string body, bool dryRun)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return Update(resource, ns, name, sub, Patch(View(resource, ns, name, sub), contentType, body), dryRun);
            }
            catch (ApiError error) when (error.Code == HttpStatusCode.Conflict && attempt < 5 && !body.Contains("\"resourceVersion\"", StringComparison.Ordinal))
            {
            }
        }
    }

    private static JsonObject Patch(JsonObject current, string contentType, string body)
    {
        if (contentType.StartsWith("application/merge-patch+json", StringComparison.Ordinal))
        {
            return (JsonObject)MergePatch(current, JsonNode.Parse(body))!;
        }

        if (contentType.StartsWith("application/json-patch+json", StringComparison.Ordinal))
        {
            var doc = (JsonNode)current.DeepClone();
            foreach (var op in JsonNode.Parse(body)!.AsArray())
            {
                doc = JsonPatchOp(doc, (string)op!["op"]!, (string)op["path"]!, op["value"]);
            }

            return doc.AsObject();
        }

        throw new ApiError(HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json");
    }

    private static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
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
                result[key] = MergePatch(result[key], value);
            }
        }

        return result;
    }

    private static JsonNode JsonPatchOp(JsonNode doc, string op, string path, JsonNode? value)
    {
        var parts = path.Split('/').Skip(1).Select(p => p.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
        var parent = doc;
        foreach (var part in parts[..^1])
        {
            parent = (parent is JsonArray a ? a[int.Parse(part, CultureInfo.InvariantCulture)] : parent[part])
                ?? throw new ApiError(HttpStatusCode.UnprocessableEntity, "Invalid", $"the server rejected our request due to an error in our request: path {path} does not exist");
        }

        var last = parts[^1];
        switch (op)
        {
            case "test":
                var existing = parent is JsonArray ta ? ta[int.Parse(last, CultureInfo.InvariantCulture)] : parent[last];
                if (!JsonNode.DeepEquals(existing, value))
                {
                    throw new ApiError(HttpStatusCode.UnprocessableEntity, "Invalid", $"the server rejected our request due to an error in our request: testing value {path} failed");
                }

                break;
            case "remove":
                if (parent is JsonArray ra)
                {
                    ra.RemoveAt(int.Parse(last, CultureInfo.InvariantCulture));
                }
                else if (!parent.AsObject().Remove(last))
                {
                    throw new ApiError(HttpStatusCode.UnprocessableEntity, "Invalid", $"the server rejected our request due to an error in our request: unable to remove nonexistent key: {last}");
                }

                break;
            case "add" or "replace":
                if (parent is JsonArray aa)
                {
                    if (last == "-")
                    {
                        aa.Add(value?.DeepClone());
                    }
                    else if (op == "add")
                    {
                        aa.Insert(int.Parse(last, CultureInfo.InvariantCulture), value?.DeepClone());
                    }
                    else
                    {
                        aa[int.Parse(last, CultureInfo.InvariantCulture)] = value?.DeepClone();
                    }
                }
                else
                {
                    parent[last] = value?.DeepClone();
                }

                break;
            default:
                throw new ApiError(HttpStatusCode.UnprocessableEntity, "Invalid", $"Unexpected kind of operation {op}");
        }

        return doc;
    }

    private void Commit(KubeResource resource, string key, JsonObject item, string type)
    {
        item["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
        _objects[key] = item;
        Record(resource, type, item, bump: false);
        if (resource == CustomResourceDefinitions && type == "ADDED")
        {
            var name = (string)item["metadata"]!["name"]!;
            _ = EstablishLaterAsync(name);
        }
    }

    /// <summary>The apiextensions controller: after <see cref="CrdEstablishDelay"/> the CRD is Established and its objects are served.</summary>
    private async Task EstablishLaterAsync(string name)
    {
        await Task.Delay(CrdEstablishDelay, _time);
        lock (_lock)
        {
            if (Peek(CustomResourceDefinitions, null, name) is not { } crd)
            {
                return;
            }

            var spec = crd["spec"]!;
            var version = (spec["versions"] as JsonArray ?? []).FirstOrDefault(v => (bool?)v?["served"] != false);
            var served = new KubeResource((string)spec["group"]!, (string?)version?["name"] ?? "v1", (string)spec["names"]!["plural"]!, (string)spec["names"]!["kind"]!,
                (string?)spec["scope"] != "Cluster");
            Serve(served, hasStatus: version?["subresources"]?["status"] is not null);
            Mutate(CustomResourceDefinitions, null, name, c => c["status"] = new JsonObject
            {
                ["conditions"] = new JsonArray(
                    new JsonObject { ["type"] = "NamesAccepted", ["status"] = "True", ["reason"] = "NoConflicts" },
                    new JsonObject { ["type"] = "Established", ["status"] = "True", ["reason"] = "InitialNamesAccepted" }),
                ["acceptedNames"] = spec["names"]!.DeepClone(),
            });
        }
    }

    /// <summary>A deleted CRD stops being served and its objects go with it.</summary>
    private void Unserve(JsonObject crd)
    {
        var spec = crd["spec"]!;
        var route = Route((string)spec["group"]!, (string)spec["names"]!["plural"]!);
        if (_resources.Remove(route, out var served))
        {
            foreach (var key in _objects.Keys.Where(k => k.StartsWith(served.QualifiedName + "/", StringComparison.Ordinal)).ToList())
            {
                _objects.Remove(key, out var gone);
                Record(served, "DELETED", gone!);
            }
        }
    }

    /// <summary>The namespace controller: Terminating (new objects refused) for <see cref="NamespaceTermination"/>, then its objects and it are gone.</summary>
    private JsonObject DeleteNamespace(string name, JsonObject current)
    {
        var next = (JsonObject)current.DeepClone();
        next["metadata"]!["deletionTimestamp"] ??= Now();
        next["status"] = new JsonObject { ["phase"] = "Terminating" };
        Commit(KubeResource.Namespaces, Key(KubeResource.Namespaces, null, name), next, "MODIFIED");
        if (NamespaceTermination <= TimeSpan.Zero)
        {
            RemoveNamespace(name);
        }
        else
        {
            _ = Task.Delay(NamespaceTermination, _time).ContinueWith(_ =>
            {
                lock (_lock)
                {
                    RemoveNamespace(name);
                }
            }, TaskScheduler.Default);
        }

        return (JsonObject)next.DeepClone();
    }

    private void RemoveNamespace(string name)
    {
        foreach (var resource in _resources.Values.Where(r => r.Namespaced).ToList())
        {
            var prefix = $"{resource.QualifiedName}/{name}/";
            foreach (var key in _objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
            {
                _objects.Remove(key, out var gone);
                Record(resource, "DELETED", gone!);
            }
        }

        if (_objects.Remove(Key(KubeResource.Namespaces, null, name), out var ns))
        {
            Record(KubeResource.Namespaces, "DELETED", ns);
        }
    }

    /// <summary>The identity of the request's bearer token, else of its client certificate; default when neither is known (401).</summary>
    private (string User, RbacRule[] Rules) Identify(HttpContext http)
    {
        var auth = http.Request.Headers.Authorization.ToString();
        var certificate = http.Connection.ClientCertificate?.GetNameInfo(X509NameType.SimpleName, false);
        lock (_lock)
        {
            // A bearer token wins over a client certificate, as on the real server.
            if (auth.StartsWith("Bearer ", StringComparison.Ordinal) && _identities.TryGetValue(auth[7..], out var byToken))
            {
                return byToken;
            }

            return certificate is not null && _identities.TryGetValue("cert:" + certificate, out var byCertificate) ? byCertificate : default;
        }
    }

    /// <summary>
    /// The discovery documents: <c>/version</c>, <c>/api</c>, <c>/api/v1</c>, <c>/apis</c>, <c>/apis/&lt;group&gt;</c> and
    /// <c>/apis/&lt;group&gt;/&lt;version&gt;</c>; null for any other path, an empty object for one made unavailable.
    /// </summary>
    private JsonObject? Discovery(string path)
    {
        var parts = path.Trim('/').Split('/');
        lock (_lock)
        {
            var byGroupVersion = _resources.Values.GroupBy(r => r.ApiVersion).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            switch (parts)
            {
                case ["version"]:
                    return new JsonObject { ["major"] = "1", ["minor"] = GitVersion.Split('.')[1], ["gitVersion"] = GitVersion, ["platform"] = "linux/amd64" };
                case ["api"]:
                    return new JsonObject { ["kind"] = "APIVersions", ["versions"] = new JsonArray("v1") };
                case ["api", "v1"]:
                    return UnavailableGroupVersions.Contains("v1") ? [] : ResourceList("v1", byGroupVersion["v1"]);
                case ["apis"]:
                    return new JsonObject
                    {
                        ["kind"] = "APIGroupList",
                        ["apiVersion"] = "v1",
                        ["groups"] = new JsonArray(byGroupVersion.Keys.Where(k => k.Contains('/', StringComparison.Ordinal)).Order(StringComparer.Ordinal)
                            .Select(k => (JsonNode)GroupDocument(k)).ToArray()),
                    };
                case ["apis", var group] when byGroupVersion.Keys.FirstOrDefault(k => k.StartsWith(group + "/", StringComparison.Ordinal)) is { } gv:
                    return GroupDocument(gv);
                case ["apis", var group, var version] when byGroupVersion.TryGetValue($"{group}/{version}", out var list):
                    return UnavailableGroupVersions.Contains($"{group}/{version}") ? [] : ResourceList($"{group}/{version}", list);
                default:
                    return null;
            }
        }

        static JsonObject GroupDocument(string groupVersion)
        {
            var (group, version) = (groupVersion[..groupVersion.IndexOf('/', StringComparison.Ordinal)], groupVersion[(groupVersion.IndexOf('/', StringComparison.Ordinal) + 1)..]);
            var gv = new JsonObject { ["groupVersion"] = groupVersion, ["version"] = version };
            return new JsonObject { ["kind"] = "APIGroup", ["apiVersion"] = "v1", ["name"] = group, ["versions"] = new JsonArray(gv.DeepClone()), ["preferredVersion"] = gv };
        }

        JsonObject ResourceList(string groupVersion, List<KubeResource> resources)
        {
            var items = new JsonArray();
            foreach (var r in resources.OrderBy(r => r.Plural, StringComparer.Ordinal))
            {
                items.Add(new JsonObject
                {
                    ["name"] = r.Plural,
                    ["singularName"] = r.Kind.ToLowerInvariant(),
                    ["namespaced"] = r.Namespaced,
                    ["kind"] = r.Kind,
                    ["verbs"] = new JsonArray("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
                    ["shortNames"] = ShortNames.TryGetValue(r.Plural, out var shortName) ? new JsonArray(shortName) : null,
                });
                if (_withStatus.Contains(r.QualifiedName))
                {
                    items.Add(new JsonObject { ["name"] = r.Plural + "/status", ["singularName"] = "", ["namespaced"] = r.Namespaced, ["kind"] = r.Kind, ["verbs"] = new JsonArray("get", "patch", "update") });
                }

                if (HasScale(r))
                {
                    items.Add(new JsonObject { ["name"] = r.Plural + "/scale", ["singularName"] = "", ["namespaced"] = true, ["kind"] = "Scale", ["group"] = "autoscaling", ["version"] = "v1", ["verbs"] = new JsonArray("get", "patch", "update") });
                }
            }

            return new JsonObject { ["kind"] = "APIResourceList", ["apiVersion"] = "v1", ["groupVersion"] = groupVersion, ["resources"] = items };
        }
    }

    private static readonly Dictionary<string, string> ShortNames = new(StringComparer.Ordinal)
    {
        ["configmaps"] = "cm",
        ["deployments"] = "deploy",
        ["namespaces"] = "ns",
        ["persistentvolumeclaims"] = "pvc",
        ["persistentvolumes"] = "pv",
        ["serviceaccounts"] = "sa",
        ["services"] = "svc",
        ["statefulsets"] = "sts",
        ["customresourcedefinitions"] = "crd",
        ["volumesnapshots"] = "vs",
    };

    private void Record(KubeResource resource, string type, JsonObject item, bool bump = true)
    {
        if (bump)
        {
            item["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
        }

        var copy = (JsonObject)item.DeepClone();
        _history.Add((_version, resource, type, copy));
        foreach (var watcher in _watchers.Where(w => w.Wants(resource, copy)))
        {
            watcher.Events.Writer.TryWrite((type, (JsonObject)copy.DeepClone()));
        }
    }

    private bool TryRoute(string path, out KubeResource resource, out string? ns, out string? name, out string? sub)
    {
        resource = null!;
        ns = name = sub = null;
        var parts = path.Trim('/').Split('/');
        string group;
        int at;
        if (parts is ["api", "v1", ..])
        {
            (group, at) = ("", 2);
        }
        else if (parts.Length >= 3 && parts[0] == "apis")
        {
            (group, at) = (parts[1], 3);
        }
        else
        {
            return false;
        }

        var rest = parts[at..];
        lock (_lock)
        {
            if (rest.Length >= 3 && rest[0] == "namespaces" && _resources.TryGetValue(Route(group, rest[2]), out var namespaced) && namespaced.Namespaced)
            {
                (resource, ns, rest) = (namespaced, rest[1], rest[3..]);
            }
            else if (rest.Length >= 1 && _resources.TryGetValue(Route(group, rest[0]), out var any))
            {
                (resource, rest) = (any, rest[1..]);
            }
            else
            {
                return false;
            }
        }

        name = rest.Length > 0 ? Uri.UnescapeDataString(rest[0]) : null;
        sub = rest.Length > 1 ? rest[1] : null;
        return rest.Length <= 2;
    }

    private static string Route(string group, string plural) => $"{group}/{plural}";

    private static string Key(KubeResource resource, string? ns, string name) =>
        resource.QualifiedName + "/" + (resource.Namespaced ? ns + "/" : "") + name;

    private string Now() => _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static ApiError NotFound(KubeResource resource, string name) =>
        new(HttpStatusCode.NotFound, "NotFound", $"{resource.QualifiedName} \"{name}\" not found");

    private static async Task<JsonObject> BodyAsync(HttpContext http)
    {
        try
        {
            return (await JsonNode.ParseAsync(http.Request.Body))?.AsObject() ?? throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "empty body");
        }
        catch (JsonException ex)
        {
            throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", $"the body is not JSON: {ex.Message}");
        }
    }

    private static JsonObject StatusJson(HttpStatusCode code, string reason, string message, string? name, KubeResource? resource)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
            ["code"] = (int)code,
        };
        if (resource is not null)
        {
            status["details"] = new JsonObject { ["name"] = name, ["group"] = resource.Group, ["kind"] = resource.Plural };
        }

        return status;
    }

    private static Task WriteStatusAsync(HttpContext http, HttpStatusCode code, string reason, string message, string? name = null, KubeResource? resource = null) =>
        WriteJsonAsync(http, code, StatusJson(code, reason, message, name, resource));

    private static async Task WriteJsonAsync(HttpContext http, HttpStatusCode code, JsonObject body)
    {
        http.Response.StatusCode = (int)code;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body.ToJsonString(), http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    internal sealed class ApiError(HttpStatusCode code, string reason, string message) : Exception(message)
    {
        public HttpStatusCode Code { get; } = code;

        public string Reason { get; } = reason;
    }

    private sealed class Watcher(KubeResource resource, string? ns, LabelSelectorExpression labels, Dictionary<string, string> fields)
    {
        public Channel<(string Type, JsonObject Item)> Events { get; } = Channel.CreateUnbounded<(string, JsonObject)>();

        public bool Wants(KubeResource changed, JsonObject item) =>
            changed == resource && (!resource.Namespaced || ns is null || (string?)item["metadata"]?["namespace"] == ns) && Selected(item, labels, fields);
    }
}
