using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using Lifeboat.Kubernetes.Config;
using Lifeboat.Kubernetes.Models;

namespace Lifeboat.Kubernetes.Client;

/// <summary>
/// A small typed client of the Kubernetes REST API: get, list (label and field selectors, paging with
/// <c>continue</c>), watch (from a resourceVersion, with bookmarks; 410 Gone surfaces as <see cref="KubeGoneException"/>),
/// create, replace (optionally the status subresource), patch (merge or JSON patch) and delete. Errors carry the
/// API's Status message as typed exceptions (401, 403, 404, 409, 410, 422). A 401 is retried once with fresh
/// credentials (a rotated token, an expired exec token).
/// </summary>
public sealed class KubeClient : IDisposable
{
    private readonly ApiServer _api;
    private readonly KubeConnection _connection;
    private readonly TimeSpan _requestTimeout;

    public KubeClient(KubeConnection connection, TimeSpan? requestTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _requestTimeout = requestTimeout ?? TimeSpan.FromSeconds(30);
        connection.Configuration.FirstMessageHandlerSetup = handler =>
        {
            handler.ConnectTimeout = TimeSpan.FromSeconds(10);
            handler.PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2);
        };
        _api = new ApiServer(connection.Configuration);
    }

    public KubeConnection Connection => _connection;

    /// <summary>The namespace commands use when none is given.</summary>
    public string DefaultNamespace => _connection.Namespace;

    /// <remarks><typeparamref name="T"/> is a model, or <see cref="System.Text.Json.Nodes.JsonObject"/> for the object exactly as served.</remarks>
    public async Task<T> GetAsync<T>(KubeResource resource, string? ns, string name, CancellationToken cancellationToken, string? subresource = null)
        where T : class =>
        await SendAsync<T>(HttpMethod.Get, resource.ObjectPath(ns, name, subresource), null, null, $"get {Describe(resource, ns, name)}", cancellationToken);

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
        where T : class
    {
        var query = Query(
            ("labelSelector", options?.LabelSelector), ("fieldSelector", options?.FieldSelector),
            ("limit", options?.Limit?.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("continue", options?.Continue),
            ("resourceVersion", options?.ResourceVersion));
        return SendAsync<KubeList<T>>(HttpMethod.Get, resource.CollectionPath(ns) + query, null, null, $"list {Describe(resource, ns, null)}", cancellationToken);
    }

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

            if (string.IsNullOrEmpty(list.Metadata.Continue))
            {
                yield break;
            }

            page = page with { Continue = list.Metadata.Continue };
        }
    }

    public Task<T> CreateAsync<T>(KubeResource resource, string? ns, T item, CancellationToken cancellationToken, bool dryRun = false)
        where T : KubeObject
    {
        ArgumentNullException.ThrowIfNull(item);
        Stamp(resource, item);
        return SendAsync<T>(HttpMethod.Post, resource.CollectionPath(ns) + Query(("dryRun", dryRun ? "All" : null)), Json(item), null,
            $"create {Describe(resource, ns, item.Metadata.Name ?? item.Metadata.GenerateName + "*")}", cancellationToken);
    }

    /// <summary>PUT: replaces the object, failing with 409 if it changed since <c>metadata.resourceVersion</c> was read.</summary>
    /// <param name="subresource"><c>status</c> to write the status only (the main resource ignores status changes).</param>
    public Task<T> ReplaceAsync<T>(KubeResource resource, T item, CancellationToken cancellationToken, string? subresource = null)
        where T : KubeObject
    {
        ArgumentNullException.ThrowIfNull(item);
        Stamp(resource, item);
        var name = item.Metadata.Name ?? throw new ArgumentException("the object has no name", nameof(item));
        return SendAsync<T>(HttpMethod.Put, resource.ObjectPath(item.Metadata.Namespace, name, subresource), Json(item), null,
            $"update {Describe(resource, item.Metadata.Namespace, name)}{(subresource is null ? "" : "/" + subresource)}", cancellationToken);
    }

    public Task<T> PatchAsync<T>(KubeResource resource, string? ns, string name, KubePatch patch, CancellationToken cancellationToken,
        string? subresource = null)
        where T : KubeObject
    {
        ArgumentNullException.ThrowIfNull(patch);
        var content = new StringContent(patch.Body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(patch.ContentType);
        return SendAsync<T>(HttpMethod.Patch, resource.ObjectPath(ns, name, subresource), content, null,
            $"patch {Describe(resource, ns, name)}{(subresource is null ? "" : "/" + subresource)}", cancellationToken);
    }

    /// <summary>Creates an object given as JSON exactly as it should be stored; <paramref name="dryRun"/> asks the server to validate only.</summary>
    public Task<JsonObject> CreateObjectAsync(KubeResource resource, string? ns, JsonObject item, bool dryRun, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(item);
        var name = (string?)item["metadata"]?["name"] ?? "";
        return SendAsync<JsonObject>(HttpMethod.Post, resource.CollectionPath(ns) + Query(("dryRun", dryRun ? "All" : null)),
            new StringContent(item.ToJsonString(), Encoding.UTF8, "application/json"), null, $"create {Describe(resource, ns, name)}", cancellationToken);
    }

    /// <summary>Patches an object (merge or JSON patch); <paramref name="dryRun"/> asks the server to validate only.</summary>
    public Task<JsonObject> PatchObjectAsync(KubeResource resource, string? ns, string name, KubePatch patch, bool dryRun, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(patch);
        var content = new StringContent(patch.Body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(patch.ContentType);
        return SendAsync<JsonObject>(HttpMethod.Patch, resource.ObjectPath(ns, name) + Query(("dryRun", dryRun ? "All" : null)), content, null,
            $"patch {Describe(resource, ns, name)}", cancellationToken);
    }

    /// <summary>GETs a non-resource path such as <c>/version</c>, <c>/api</c> or <c>/apis/apps/v1</c> (discovery).</summary>
    public Task<T> GetPathAsync<T>(string path, CancellationToken cancellationToken)
        where T : class =>
        SendAsync<T>(HttpMethod.Get, path, null, null, $"get {path}", cancellationToken);

    /// <summary>Deletes; true when it was deleted (or deletion started), false when it did not exist.</summary>
    public async Task<bool> DeleteAsync(KubeResource resource, string? ns, string name, CancellationToken cancellationToken, DeleteOptions? options = null)
    {
        var body = new Dictionary<string, object?> { ["apiVersion"] = "v1", ["kind"] = "DeleteOptions" };
        if (options?.PropagationPolicy is { } policy)
        {
            body["propagationPolicy"] = policy;
        }

        if (options?.PreconditionUid is not null || options?.PreconditionResourceVersion is not null)
        {
            body["preconditions"] = new Dictionary<string, string?> { ["uid"] = options.PreconditionUid, ["resourceVersion"] = options.PreconditionResourceVersion };
        }

        try
        {
            await SendAsync<GenericObject>(HttpMethod.Delete, resource.ObjectPath(ns, name) + Query(("dryRun", options?.DryRun == true ? "All" : null)),
                Json(body), null, $"delete {Describe(resource, ns, name)}", cancellationToken);
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
        where T : KubeObject
    {
        options ??= new WatchOptions();
        var path = resource.CollectionPath(ns) + Query(("watch", "1"), ("resourceVersion", options.ResourceVersion),
            ("labelSelector", options.LabelSelector), ("fieldSelector", options.FieldSelector),
            ("allowWatchBookmarks", options.AllowBookmarks ? "true" : null),
            ("timeoutSeconds", options.TimeoutSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var doing = $"watch {Describe(resource, ns, null)}";
        using var response = await StartAsync(HttpMethod.Get, path, null, HttpCompletionOption.ResponseHeadersRead, doing, cancellationToken);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            using var doc = JsonDocument.Parse(line);
            var type = doc.RootElement.GetProperty("type").GetString() ?? "";
            var obj = doc.RootElement.GetProperty("object");
            if (type == "ERROR")
            {
                var status = obj.Deserialize<Status>(KubeJson.Options);
                throw KubeException.From((HttpStatusCode)(status?.Code is > 0 and var c ? c : 500), status, doing);
            }

            yield return new WatchEvent<T>(type, obj.Deserialize<T>(KubeJson.Options), null);
        }
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, HttpCompletionOption? completion, string doing,
        CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_requestTimeout);
        try
        {
            using var response = await StartAsync(method, path, content, completion ?? HttpCompletionOption.ResponseContentRead, doing, timeout.Token);
            return await response.Content.ReadJsonAsync<T>(doing, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new KubeException(HttpStatusCode.RequestTimeout, null, $"{doing}: no answer from {_connection.Server} within {_requestTimeout.TotalSeconds:0} s",
                "check that the API server is reachable from here");
        }
    }

    /// <summary>Sends, retrying once after a 401 with fresh credentials; returns a successful response or throws the typed error.</summary>
    private async Task<HttpResponseMessage> StartAsync(HttpMethod method, string path, HttpContent? content, HttpCompletionOption completion,
        string doing, CancellationToken cancellationToken)
    {
        var body = content is null ? null : await content.ReadAsByteArrayAsync(cancellationToken);
        for (var attempt = 0; ; attempt++)
        {
            var request = new HttpRequestMessage(method, new Uri(_api.BaseUri, path));
            request.Headers.Accept.ParseAdd("application/json");
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = content!.Headers.ContentType;
            }

            try
            {
                // The library applies the credentials and the TLS server name, and reads only the headers here.
                var response = await _api.SendAsync(request, cancellationToken);
                if (completion == HttpCompletionOption.ResponseContentRead)
                {
                    await response.Content.LoadIntoBufferAsync(cancellationToken);
                }

                return response;
            }
            catch (HttpOperationException ex) when (ex.Response is { } answer)
            {
                if (answer.StatusCode == HttpStatusCode.Unauthorized && attempt == 0 && _connection.Credentials is { } credentials)
                {
                    credentials.Expire();
                    continue;
                }

                Status? status = null;
                try
                {
                    status = string.IsNullOrEmpty(answer.Content) ? null : JsonSerializer.Deserialize<Status>(answer.Content, KubeJson.Options);
                }
                catch (JsonException)
                {
                }

                throw KubeException.From(answer.StatusCode, status, doing);
            }
            catch (HttpRequestException ex)
            {
                var cause = ex.InnerException is SocketException socket ? socket.SocketErrorCode.ToString() : ex.InnerException?.Message ?? ex.Message;
                throw new KubeException(0, null, $"{doing}: cannot reach the API server {_connection.Server} ({cause})",
                    $"check the server address ({_connection.Source}) and that it is reachable", ex);
            }
            catch (KubeConfigException)
            {
                throw; // a token Lifeboat could not get (exec plugin, token file): its own message says why
            }
            catch (Exception ex) when (ex is k8s.Exceptions.KubernetesClientException or k8s.Exceptions.KubeConfigException)
            {
                throw new KubeException(0, null, $"{doing}: cannot authenticate to {_connection.Server}: {ex.Message}",
                    $"check the user in {_connection.Source}", ex);
            }
        }
    }

    private static void Stamp(KubeResource resource, KubeObject item)
    {
        item.ApiVersion ??= resource.ApiVersion;
        item.Kind ??= resource.Kind;
    }

    private static StringContent Json<TBody>(TBody body) =>
        new(JsonSerializer.Serialize(body, KubeJson.Options), Encoding.UTF8, "application/json");

    private static string Describe(KubeResource resource, string? ns, string? name) =>
        resource.QualifiedName + (name is null ? "" : $" {name}") + (resource.Namespaced && ns is not null ? $" in namespace {ns}" : "");

    private static string Query(params (string Key, string? Value)[] pairs)
    {
        var parts = pairs.Where(p => p.Value is not null).Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value!)}").ToList();
        return parts.Count == 0 ? "" : "?" + string.Join("&", parts);
    }

    public void Dispose() => _api.Dispose();

    /// <summary>KubernetesClient's client, with its authenticated send open to the typed calls above.</summary>
    private sealed class ApiServer(KubernetesClientConfiguration configuration) : k8s.Kubernetes(configuration)
    {
        /// <summary>Sends with the library's credentials and TLS; a non-success answer is its <see cref="HttpOperationException"/>.</summary>
        public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            SendRequestRaw("", request, cancellationToken);
    }
}

internal static class HttpContentJson
{
    /// <summary>Reads a JSON answer; a body that is not the expected JSON is the server's fault, said so.</summary>
    public static async Task<T> ReadJsonAsync<T>(this HttpContent content, string doing, CancellationToken cancellationToken)
    {
        try
        {
            return await content.ReadFromJsonAsync<T>(KubeJson.Options, cancellationToken)
                ?? throw new JsonException("empty body");
        }
        catch (JsonException ex)
        {
            throw new KubeException(HttpStatusCode.InternalServerError, null, $"{doing}: the API server's answer is not the expected JSON ({ex.Message})", null, ex);
        }
    }
}
