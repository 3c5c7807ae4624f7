using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Lifeboat.Kubernetes.Config;
using Lifeboat.Kubernetes.Models;

namespace Lifeboat.Kubernetes.Client;

/// <summary>
/// Lifeboat's calls to the Kubernetes API, made with KubernetesClient's generic object operations (the
/// <c>CustomObjects</c> API, which serves the core group as well): get, list (label and field selectors, paging with
/// <c>continue</c>), watch (from a resourceVersion, with bookmarks; 410 Gone surfaces as <see cref="KubeGoneException"/>),
/// create, replace (optionally the status subresource), patch (merge or JSON patch) and delete. What this class adds
/// on top of the library: each kind addressed by one <see cref="KubeResource"/>, errors as typed exceptions carrying the
/// API's Status message and what Lifeboat was doing (401, 403, 404, 409, 410, 422), a 401 retried once with fresh
/// credentials (a rotated token, an expired exec token), and a request deadline that says so when it passes.
/// </summary>
public sealed class KubeClient : IDisposable
{
    private readonly k8s.Kubernetes _api;
    private readonly KubeConnection _connection;
    private readonly TimeSpan _requestTimeout;

    public KubeClient(KubeConnection connection, TimeSpan? requestTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _requestTimeout = requestTimeout ?? TimeSpan.FromSeconds(30);
        _api = connection.CreateApi(_requestTimeout);
    }

    public KubeConnection Connection => _connection;

    /// <summary>The namespace commands use when none is given.</summary>
    public string DefaultNamespace => _connection.Namespace;

    /// <remarks><typeparamref name="T"/> is a model, or <see cref="JsonObject"/> for the object exactly as served.</remarks>
    public Task<T> GetAsync<T>(KubeResource resource, string? ns, string name, CancellationToken cancellationToken, string? subresource = null)
        where T : class =>
        CallAsync($"get {Describe(resource, ns, name)}", ct => (Scoped(resource, ns, name), subresource) switch
        {
            (true, null) => Ops.GetNamespacedCustomObjectWithHttpMessagesAsync<T>(resource.Group, resource.Version, ns, resource.Plural, name, null, ct),
            (false, null) => Ops.GetClusterCustomObjectWithHttpMessagesAsync<T>(resource.Group, resource.Version, resource.Plural, name, null, ct),
            (true, "status") => Ops.GetNamespacedCustomObjectStatusWithHttpMessagesAsync<T>(resource.Group, resource.Version, ns, resource.Plural, name, null, ct),
            (false, "status") => Ops.GetClusterCustomObjectStatusWithHttpMessagesAsync<T>(resource.Group, resource.Version, resource.Plural, name, null, ct),
            (true, "scale") => Ops.GetNamespacedCustomObjectScaleWithHttpMessagesAsync<T>(resource.Group, resource.Version, ns, resource.Plural, name, null, ct),
            (false, "scale") => Ops.GetClusterCustomObjectScaleWithHttpMessagesAsync<T>(resource.Group, resource.Version, resource.Plural, name, null, ct),
            _ => throw new ArgumentException($"subresource '{subresource}' is not one Lifeboat reads", nameof(subresource)),
        }, cancellationToken);

    /// <summary>The object, or null when it does not exist.</summary>
    public async Task<T?> TryGetAsync<T>(KubeResource resource, string? ns, string name, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            return await GetAsync<T>(resource, ns, name, cancellationToken);
        }
        catch (KubeNotFoundException)
        {
            return null;
        }
    }

    /// <summary>One page of a list; <paramref name="ns"/> null lists across all namespaces.</summary>
    public Task<KubeList<T>> ListAsync<T>(KubeResource resource, string? ns, ListOptions? options, CancellationToken cancellationToken)
        where T : class =>
        CallAsync($"list {Describe(resource, ns, null)}", ct => Scoped(resource, ns)
            ? Ops.ListNamespacedCustomObjectWithHttpMessagesAsync<KubeList<T>>(resource.Group, resource.Version, ns, resource.Plural,
                continueParameter: options?.Continue, fieldSelector: options?.FieldSelector, labelSelector: options?.LabelSelector,
                limit: options?.Limit, resourceVersion: options?.ResourceVersion, cancellationToken: ct)
            : resource.Namespaced
                ? Ops.ListCustomObjectForAllNamespacesWithHttpMessagesAsync<KubeList<T>>(resource.Group, resource.Version, resource.Plural,
                    continueParameter: options?.Continue, fieldSelector: options?.FieldSelector, labelSelector: options?.LabelSelector,
                    limit: options?.Limit, resourceVersion: options?.ResourceVersion, cancellationToken: ct)
                : Ops.ListClusterCustomObjectWithHttpMessagesAsync<KubeList<T>>(resource.Group, resource.Version, resource.Plural,
                    continueParameter: options?.Continue, fieldSelector: options?.FieldSelector, labelSelector: options?.LabelSelector,
                    limit: options?.Limit, resourceVersion: options?.ResourceVersion, cancellationToken: ct),
            cancellationToken);

    /// <summary>Every item, page by page (500 per request unless <see cref="ListOptions.Limit"/> says otherwise).</summary>
    public async IAsyncEnumerable<T> ListAllAsync<T>(KubeResource resource, string? ns, ListOptions? options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
        where T : class
    {
        var page = (options ?? new ListOptions()) with { Limit = options?.Limit ?? 500, Continue = null };
        while (true)
        {
            var list = await ListAsync<T>(resource, ns, page, cancellationToken);
            foreach (var item in list.Items)
            {
                yield return item;
            }

            if (string.IsNullOrEmpty(list.Metadata.ContinueProperty))
            {
                yield break;
            }

            page = page with { Continue = list.Metadata.ContinueProperty };
        }
    }

    public Task<T> CreateAsync<T>(KubeResource resource, string? ns, T item, CancellationToken cancellationToken, bool dryRun = false)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(item);
        Stamp(resource, item);
        return CreateCoreAsync<T>(resource, ns, item, dryRun, $"create {Describe(resource, ns, item.Metadata.Name ?? item.Metadata.GenerateName + "*")}",
            cancellationToken);
    }

    /// <summary>PUT: replaces the object, failing with 409 if it changed since <c>metadata.resourceVersion</c> was read.</summary>
    /// <param name="subresource"><c>status</c> to write the status only (the main resource ignores status changes).</param>
    public Task<T> ReplaceAsync<T>(KubeResource resource, T item, CancellationToken cancellationToken, string? subresource = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(item);
        Stamp(resource, item);
        var name = item.Metadata.Name ?? throw new ArgumentException("the object has no name", nameof(item));
        var ns = item.Metadata.NamespaceProperty;
        return CallAsync($"update {Describe(resource, ns, name)}{(subresource is null ? "" : "/" + subresource)}", ct =>
            (Scoped(resource, ns, name), subresource) switch
            {
                (true, null) => Ops.ReplaceNamespacedCustomObjectWithHttpMessagesAsync<T>(item, resource.Group, resource.Version, ns, resource.Plural, name, cancellationToken: ct),
                (false, null) => Ops.ReplaceClusterCustomObjectWithHttpMessagesAsync<T>(item, resource.Group, resource.Version, resource.Plural, name, cancellationToken: ct),
                (true, "status") => Ops.ReplaceNamespacedCustomObjectStatusWithHttpMessagesAsync<T>(item, resource.Group, resource.Version, ns, resource.Plural, name, cancellationToken: ct),
                (false, "status") => Ops.ReplaceClusterCustomObjectStatusWithHttpMessagesAsync<T>(item, resource.Group, resource.Version, resource.Plural, name, cancellationToken: ct),
                _ => throw new ArgumentException($"subresource '{subresource}' is not one Lifeboat writes", nameof(subresource)),
            }, cancellationToken);
    }

    public Task<T> PatchAsync<T>(KubeResource resource, string? ns, string name, KubePatch patch, CancellationToken cancellationToken,
        string? subresource = null)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        PatchCoreAsync<T>(resource, ns, name, patch, subresource, dryRun: false, cancellationToken);

    /// <summary>Creates an object given as JSON exactly as it should be stored; <paramref name="dryRun"/> asks the server to validate only.</summary>
    public Task<JsonObject> CreateObjectAsync(KubeResource resource, string? ns, JsonObject item, bool dryRun, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(item);
        var name = (string?)item["metadata"]?["name"] ?? "";
        return CreateCoreAsync<JsonObject>(resource, ns, item, dryRun, $"create {Describe(resource, ns, name)}", cancellationToken);
    }

    /// <summary>Patches an object (merge or JSON patch); <paramref name="dryRun"/> asks the server to validate only.</summary>
    public Task<JsonObject> PatchObjectAsync(KubeResource resource, string? ns, string name, KubePatch patch, bool dryRun, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return PatchCoreAsync<JsonObject>(resource, ns, name, patch, null, dryRun, cancellationToken);
    }

    /// <summary>What the API server serves, from the library's discovery calls.</summary>
    public Task<V1APIVersions> CoreVersionsAsync(CancellationToken cancellationToken) =>
        CallAsync("get /api", ct => _api.Core.GetAPIVersionsWithHttpMessagesAsync(null, ct), cancellationToken);

    public Task<V1APIGroupList> GroupsAsync(CancellationToken cancellationToken) =>
        CallAsync("get /apis", ct => _api.Apis.GetAPIVersionsWithHttpMessagesAsync(null, ct), cancellationToken);

    /// <summary>The resources of one group version (<paramref name="group"/> empty for the core group).</summary>
    public Task<V1APIResourceList> ResourcesAsync(string group, string version, CancellationToken cancellationToken) =>
        CallAsync($"get {(group.Length == 0 ? "/api/" : $"/apis/{group}/")}{version}",
            ct => Ops.GetAPIResourcesWithHttpMessagesAsync(group, version, null, ct), cancellationToken);

    public Task<VersionInfo> VersionAsync(CancellationToken cancellationToken) =>
        CallAsync("get /version", ct => _api.Version.GetCodeWithHttpMessagesAsync(null, ct), cancellationToken);

    /// <summary>Deletes; true when it was deleted (or deletion started), false when it did not exist.</summary>
    public async Task<bool> DeleteAsync(KubeResource resource, string? ns, string name, CancellationToken cancellationToken, DeleteOptions? options = null)
    {
        var body = new V1DeleteOptions { ApiVersion = "v1", Kind = "DeleteOptions", PropagationPolicy = options?.PropagationPolicy };
        if (options?.PreconditionUid is not null || options?.PreconditionResourceVersion is not null)
        {
            body.Preconditions = new V1Preconditions { Uid = options.PreconditionUid, ResourceVersion = options.PreconditionResourceVersion };
        }

        var dryRun = options?.DryRun == true ? "All" : null;
        try
        {
            await CallAsync($"delete {Describe(resource, ns, name)}", ct => Scoped(resource, ns, name)
                ? Ops.DeleteNamespacedCustomObjectWithHttpMessagesAsync<JsonObject>(resource.Group, resource.Version, ns, resource.Plural, name, body,
                    dryRun: dryRun, cancellationToken: ct)
                : Ops.DeleteClusterCustomObjectWithHttpMessagesAsync<JsonObject>(resource.Group, resource.Version, resource.Plural, name, body,
                    dryRun: dryRun, cancellationToken: ct), cancellationToken);
            return true;
        }
        catch (KubeNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Watches until the server ends the stream (then the sequence ends: watch again from the last resourceVersion) or
    /// the token is cancelled. A version the server no longer has raises <see cref="KubeGoneException"/>: list again.
    /// </summary>
    public async IAsyncEnumerable<WatchEvent<T>> WatchAsync<T>(KubeResource resource, string? ns, WatchOptions? options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        options ??= new WatchOptions();
        var doing = $"watch {Describe(resource, ns, null)}";
        Exception? failed = null;

        // The library reports an ERROR event (410 Gone among them) to onError instead of yielding it.
        void OnError(Exception ex) => failed ??= ex;
        var events = Scoped(resource, ns)
            ? Ops.WatchListNamespacedCustomObjectAsync(resource.Group, resource.Version, ns, resource.Plural, options.AllowBookmarks, null,
                options.FieldSelector, options.LabelSelector, null, options.ResourceVersion, null, options.TimeoutSeconds, null, OnError, cancellationToken)
            : resource.Namespaced
                ? Ops.WatchListCustomObjectForAllNamespacesAsync(resource.Group, resource.Version, resource.Plural, options.AllowBookmarks, null,
                    options.FieldSelector, options.LabelSelector, null, options.ResourceVersion, null, options.TimeoutSeconds, null, OnError, cancellationToken)
                : Ops.WatchListClusterCustomObjectAsync(resource.Group, resource.Version, resource.Plural, options.AllowBookmarks, null,
                    options.FieldSelector, options.LabelSelector, null, options.ResourceVersion, null, options.TimeoutSeconds, null, OnError, cancellationToken);
        await using var enumerator = events.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            bool more;
            try
            {
                more = await enumerator.MoveNextAsync();
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                throw Translate(ex, doing);
            }

            if (failed is not null)
            {
                throw Translate(failed, doing);
            }

            if (!more)
            {
                yield break;
            }

            var (type, item) = enumerator.Current;
            yield return new WatchEvent<T>(type.ToString().ToUpperInvariant(), item is JsonElement json ? KubernetesJson.Deserialize<T>(json) : null, null);
        }
    }

    private ICustomObjectsOperations Ops => _api.CustomObjects;

    private Task<T> CreateCoreAsync<T>(KubeResource resource, string? ns, object item, bool dryRun, string doing, CancellationToken cancellationToken) =>
        CallAsync(doing, ct => Scoped(resource, ns)
            ? Ops.CreateNamespacedCustomObjectWithHttpMessagesAsync<T>(item, resource.Group, resource.Version, ns, resource.Plural,
                dryRun: dryRun ? "All" : null, cancellationToken: ct)
            : Ops.CreateClusterCustomObjectWithHttpMessagesAsync<T>(item, resource.Group, resource.Version, resource.Plural,
                dryRun: dryRun ? "All" : null, cancellationToken: ct), cancellationToken);

    private Task<T> PatchCoreAsync<T>(KubeResource resource, string? ns, string name, KubePatch patch, string? subresource, bool dryRun,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(patch);
        var body = new V1Patch(patch.Body, patch.Type);
        var run = dryRun ? "All" : null;
        return CallAsync($"patch {Describe(resource, ns, name)}{(subresource is null ? "" : "/" + subresource)}", ct =>
            (Scoped(resource, ns, name), subresource) switch
            {
                (true, null) => Ops.PatchNamespacedCustomObjectWithHttpMessagesAsync<T>(body, resource.Group, resource.Version, ns, resource.Plural, name, run, cancellationToken: ct),
                (false, null) => Ops.PatchClusterCustomObjectWithHttpMessagesAsync<T>(body, resource.Group, resource.Version, resource.Plural, name, run, cancellationToken: ct),
                (true, "status") => Ops.PatchNamespacedCustomObjectStatusWithHttpMessagesAsync<T>(body, resource.Group, resource.Version, ns, resource.Plural, name, run, cancellationToken: ct),
                (false, "status") => Ops.PatchClusterCustomObjectStatusWithHttpMessagesAsync<T>(body, resource.Group, resource.Version, resource.Plural, name, run, cancellationToken: ct),
                (true, "scale") => Ops.PatchNamespacedCustomObjectScaleWithHttpMessagesAsync<T>(body, resource.Group, resource.Version, ns, resource.Plural, name, run, cancellationToken: ct),
                (false, "scale") => Ops.PatchClusterCustomObjectScaleWithHttpMessagesAsync<T>(body, resource.Group, resource.Version, resource.Plural, name, run, cancellationToken: ct),
                _ => throw new ArgumentException($"subresource '{subresource}' is not one Lifeboat patches", nameof(subresource)),
            }, cancellationToken);
    }

    /// <summary>
    /// Runs one library operation: its answer's body, or the typed error; a 401 once more with fresh credentials.
    /// </summary>
    private async Task<T> CallAsync<T>(string doing, Func<CancellationToken, Task<HttpOperationResponse<T>>> operation, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var response = await operation(cancellationToken);
                return response.Body ?? throw new KubeException(HttpStatusCode.InternalServerError, null, $"{doing}: the API server's answer is empty", null);
            }
            catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.Unauthorized && attempt == 0
                                                     && _connection.Credentials is { } credentials)
            {
                credentials.Expire();
            }
            catch (Exception ex) when (ex is not KubeException && (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested))
            {
                throw Translate(ex, doing);
            }
        }
    }

    /// <summary>A failure of the library's, in Lifeboat's words.</summary>
    private Exception Translate(Exception ex, string doing) => ex switch
    {
        KubeConfigException => ex, // a token Lifeboat could not get (exec plugin, token file): its own message says why
        KubeException => ex,
        HttpOperationException { Response: { } answer } => KubeException.From(answer.StatusCode, ParseStatus(answer.Content), doing),
        k8s.Autorest.HttpOperationException => new KubeException(0, null, $"{doing}: {ex.Message}", null, ex),
        KubernetesException { Status: { } status } => KubeException.From((HttpStatusCode)(status.Code is > 0 and var c ? c : 500),
            status, doing),
        HttpRequestException => new KubeException(0, null,
            $"{doing}: cannot reach the API server {_connection.Server} ({(ex.InnerException is SocketException socket ? socket.SocketErrorCode.ToString() : ex.InnerException?.Message ?? ex.Message)})",
            $"check the server address ({_connection.Source}) and that it is reachable", ex),
        OperationCanceledException => new KubeException(HttpStatusCode.RequestTimeout, null,
            $"{doing}: no answer from {_connection.Server} within {_requestTimeout.TotalSeconds:0} s", "check that the API server is reachable from here", ex),
        JsonException => new KubeException(HttpStatusCode.InternalServerError, null, $"{doing}: the API server's answer is not the expected JSON ({ex.Message})", null, ex),
        k8s.Exceptions.KubernetesClientException or k8s.Exceptions.KubeConfigException => new KubeException(0, null,
            $"{doing}: cannot authenticate to {_connection.Server}: {ex.Message}", $"check the user in {_connection.Source}", ex),
        _ => ex,
    };

    private static V1Status? ParseStatus(string? content)
    {
        try
        {
            return string.IsNullOrEmpty(content) ? null : KubernetesJson.Deserialize<V1Status>(content);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Whether calls go to the namespaced path: a namespaced kind with a namespace given (none lists all namespaces).</summary>
    private static bool Scoped(KubeResource resource, string? ns) => resource.Namespaced && ns is not null;

    /// <summary>As the collection form above, for one object: a namespaced object cannot be named without its namespace.</summary>
    private static bool Scoped(KubeResource resource, string? ns, string name) =>
        !resource.Namespaced || !string.IsNullOrEmpty(ns)
            ? resource.Namespaced
            : throw new ArgumentException($"{resource.QualifiedName} are namespaced: a namespace is needed for {name}", nameof(ns));

    private static void Stamp(KubeResource resource, IKubernetesObject item)
    {
        item.ApiVersion ??= resource.ApiVersion;
        item.Kind ??= resource.Kind;
    }

    private static string Describe(KubeResource resource, string? ns, string? name) =>
        resource.QualifiedName + (name is null ? "" : $" {name}") + (resource.Namespaced && ns is not null ? $" in namespace {ns}" : "");

    public void Dispose() => _api.Dispose();
}
