using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lifeboat.Testing;

/// <summary>
/// A small Google Cloud Storage JSON API on a loopback port, for the GCS store's tests: there is no GCS emulator to
/// install here. It serves what Google.Cloud.Storage.V1 sends for what Lifeboat does, with the real API's semantics:
/// resumable upload sessions (<c>Content-Range</c> chunks, <c>308</c> with <c>Range</c> until the last, the object on
/// the last), <c>ifGenerationMatch</c> preconditions (<c>412</c>), generations, listing with page tokens, media reads
/// with <c>Range</c> and <c>generation</c>, compose, delete, and the API's JSON error bodies. Every storage request
/// must carry a bearer token that its OAuth token endpoint issued for a service account key it trusts, as Google's
/// token endpoint does for a JWT signed with the account's private key (RS256).
/// </summary>
/// <remarks>
/// Not served, because Lifeboat does not use them: buckets' own resources, ACLs, rewrite, XML API, multipart uploads.
/// Unknown requests answer 501 with their path, so a library change shows up as a clear failure.
/// </remarks>
public sealed class FakeGcsServer : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Bucket, string Name), StoredObject> _objects = [];
    private readonly HashSet<string> _buckets = [];
    private readonly Dictionary<string, Session> _sessions = [];
    private readonly ConcurrentDictionary<string, (string Email, RSA Key)> _keys = new(); // by private_key_id
    private readonly ConcurrentDictionary<string, string> _tokens = new(); // access token -> key id
    private WebApplication? _app;
    private long _generation = 1_700_000_000_000_000;
    private int _failChunks;
    private int _cutChunks;
    private long _breakDownloadsAfter = -1;

    private FakeGcsServer()
    {
    }

    public Uri Url { get; private set; } = null!;

    /// <summary>What the library's <c>BaseUri</c> is set to: the JSON API's root.</summary>
    public Uri Endpoint => new(Url, "storage/v1/");

    /// <summary>Every request, "METHOD path?query", for assertions about what the client sent.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>The time objects are stamped with.</summary>
    public Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

    public static async Task<FakeGcsServer> StartAsync(params string[] buckets)
    {
        var server = new FakeGcsServer();
        foreach (var bucket in buckets)
        {
            server._buckets.Add(bucket);
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        var app = builder.Build();
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        return server;
    }

    /// <summary>
    /// A new key for <paramref name="email"/>, trusted from now on: the JSON key file Google issues
    /// (<c>gcloud iam service-accounts keys create</c>), with its token endpoint pointing here.
    /// </summary>
    public string CreateServiceAccountKey(string email = "lifeboat@test-project.iam.gserviceaccount.com")
    {
        var rsa = RSA.Create(2048);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        _keys[id] = (email, rsa);
        return new JsonObject
        {
            ["type"] = "service_account",
            ["project_id"] = "test-project",
            ["private_key_id"] = id,
            ["private_key"] = rsa.ExportPkcs8PrivateKeyPem() + "\n",
            ["client_email"] = email,
            ["client_id"] = "1234567890",
            ["auth_uri"] = new Uri(Url, "auth").ToString(),
            ["token_uri"] = new Uri(Url, "token").ToString(),
        }.ToJsonString();
    }

    /// <summary>Deletes a key, as <c>gcloud iam service-accounts keys delete</c> does: its tokens stop working too.</summary>
    public void RevokeKey(string keyJson)
    {
        var id = JsonNode.Parse(keyJson)!["private_key_id"]!.GetValue<string>();
        _keys.TryRemove(id, out _);
    }

    /// <summary>The service account that made the last authenticated request.</summary>
    public string? LastKeyId { get; private set; }

    /// <summary>The next <paramref name="count"/> upload chunks are refused with 503 (nothing stored), as an overloaded service does.</summary>
    public void FailNextUploadChunks(int count) => Interlocked.Exchange(ref _failChunks, count);

    /// <summary>The connections of the next <paramref name="count"/> upload chunks are reset before their answer, as a network blip does.</summary>
    public void CutNextUploadChunks(int count) => Interlocked.Exchange(ref _cutChunks, count);

    /// <summary>The next media read is cut off (connection reset) after <paramref name="bytes"/> bytes.</summary>
    public void BreakNextDownloadAfter(long bytes) => Interlocked.Exchange(ref _breakDownloadsAfter, bytes);

    public IReadOnlyList<string> ObjectNames(string bucket)
    {
        lock (_lock)
        {
            return [.. _objects.Keys.Where(k => k.Bucket == bucket).Select(k => k.Name).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>Changes an object's bytes in place, as damage in the store would (same generation, same metadata).</summary>
    public void Corrupt(string bucket, string name)
    {
        lock (_lock)
        {
            var o = _objects[(bucket, name)];
            o.Data[^1] ^= 0xFF;
        }
    }

    /// <summary>Open upload sessions (resumable uploads that never finished).</summary>
    public int OpenSessions
    {
        get
        {
            lock (_lock)
            {
                return _sessions.Count;
            }
        }
    }

    private sealed class StoredObject
    {
        public required byte[] Data { get; init; }

        public required long Generation { get; init; }

        public required Dictionary<string, string> Metadata { get; init; }

        public required DateTimeOffset Updated { get; init; }

        public string ContentType { get; init; } = "application/octet-stream";

        public bool Composite { get; init; }
    }

    private sealed class Session
    {
        public required string Bucket { get; init; }

        public required string Name { get; init; }

        public required Dictionary<string, string> Metadata { get; init; }

        public long? IfGenerationMatch { get; init; }

        public MemoryStream Data { get; } = new();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        var q = raw.IndexOf('?', StringComparison.Ordinal);
        var path = q < 0 ? raw : raw[..q];
        var query = QueryHelpers(q < 0 ? "" : raw[(q + 1)..]);
        var method = context.Request.Method;
        Requests.Enqueue($"{method} {raw}");
        var segments = path.Trim('/').Split('/');
        try
        {
            if (method == "POST" && path == "/token")
            {
                await TokenAsync(context);
                return;
            }

            if (!Authenticated(context))
            {
                await ErrorAsync(context, 401, "Invalid Credentials", "authError");
                return;
            }

            switch (segments)
            {
                case ["upload", "storage", "v1", "b", var bucket, "o"] when method == "POST" && query.GetValueOrDefault("uploadType") == "resumable":
                    await StartSessionAsync(context, Unescape(bucket), query);
                    return;
                case ["upload", "storage", "v1", "b", _, "o"] when method == "PUT" && query.TryGetValue("upload_id", out var id):
                    await ChunkAsync(context, id);
                    return;
                case ["storage", "v1", "b", var bucket, "o"] when method == "GET":
                    await ListAsync(context, Unescape(bucket), query);
                    return;
                case ["storage", "v1", "b", var bucket, "o", var name, "compose"] when method == "POST":
                    await ComposeAsync(context, Unescape(bucket), Unescape(name), query);
                    return;
                case ["storage", "v1", "b", var bucket, "o", var name] when method == "GET":
                    await GetAsync(context, Unescape(bucket), Unescape(name), query);
                    return;
                case ["storage", "v1", "b", var bucket, "o", var name] when method == "DELETE":
                    await DeleteAsync(context, Unescape(bucket), Unescape(name), query);
                    return;
            }

            await ErrorAsync(context, 501, $"the test server does not serve {method} {path}", "notImplemented");
        }
        catch (BadHttpRequestException)
        {
            // the client went away mid-body
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            // A bug in this server, not a condition of the API: say what it was, so that a test failure shows it.
            await ErrorAsync(context, 500, $"test server failure: {ex}", "backendError");
        }
    }

    private static string Unescape(string s) => Uri.UnescapeDataString(s);

    /// <summary>A JSON request body; the library gzips them (Content-Encoding: gzip), which the API accepts.</summary>
    private static async Task<string> ReadTextAsync(HttpContext context)
    {
        var body = context.Request.Headers.ContentEncoding.ToString() == "gzip"
            ? new System.IO.Compression.GZipStream(context.Request.Body, System.IO.Compression.CompressionMode.Decompress)
            : context.Request.Body;
        using var reader = new StreamReader(body);
        return await reader.ReadToEndAsync();
    }

    private static Dictionary<string, string> QueryHelpers(string query) =>
        query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .GroupBy(p => Uri.UnescapeDataString(p[0]))
            .ToDictionary(g => g.Key, g => Uri.UnescapeDataString((g.Last().Length > 1 ? g.Last()[1] : "").Replace('+', ' ')));

    // ---- auth --------------------------------------------------------------------------------------------------

    /// <summary>The audience a service account's assertion names: Google's token endpoint, wherever the key's token_uri sends it.</summary>
    private const string GoogleTokenAudience = "https://oauth2.googleapis.com/token";

    private async Task TokenAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer" || VerifyJwt(form["assertion"].ToString(), requireAudience: GoogleTokenAudience) is not { } kid)
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsJsonAsync(new { error = "invalid_grant", error_description = "Invalid JWT Signature." });
            return;
        }

        var token = "ya29.fake-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _tokens[token] = kid;
        await context.Response.WriteAsJsonAsync(new { access_token = token, expires_in = 3600, token_type = "Bearer" });
    }

    private bool Authenticated(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return false;
        }

        var token = header["Bearer ".Length..];
        // An access token from the token endpoint, or a self-signed JWT (which the library may send instead).
        var kid = _tokens.TryGetValue(token, out var issued) ? issued : VerifyJwt(token, requireAudience: null);
        if (kid is null || !_keys.ContainsKey(kid))
        {
            return false;
        }

        LastKeyId = kid;
        return true;
    }

    /// <summary>The key id whose account signed <paramref name="jwt"/> (RS256, not expired, issued by that account), else null.</summary>
    private string? VerifyJwt(string jwt, string? requireAudience)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            var header = JsonNode.Parse(Base64Url(parts[0]))!;
            var payload = JsonNode.Parse(Base64Url(parts[1]))!;
            if ((string?)header["alg"] != "RS256")
            {
                return null;
            }

            var candidates = header["kid"] is { } k && _keys.TryGetValue((string)k!, out var byId) ? [((string)k!, byId)]
                : _keys.Select(e => (e.Key, e.Value)).ToArray();
            foreach (var (id, (email, rsa)) in candidates)
            {
                if ((string?)payload["iss"] != email
                    || !rsa.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
                {
                    continue;
                }

                var exp = payload["exp"]!.GetValue<long>();
                if (DateTimeOffset.FromUnixTimeSeconds(exp) < DateTimeOffset.UtcNow || (requireAudience is not null && (string?)payload["aud"] != requireAudience))
                {
                    return null;
                }

                return id;
            }
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or CryptographicException)
        {
            return null;
        }

        return null;
    }

    private static byte[] Base64Url(string s)
    {
        var padded = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded.PadRight(padded.Length + ((4 - (padded.Length % 4)) % 4), '='));
    }

    // ---- uploads -----------------------------------------------------------------------------------------------

    private async Task StartSessionAsync(HttpContext context, string bucket, Dictionary<string, string> query)
    {
        var body = await ReadTextAsync(context);
        var resource = body.Length > 0 ? JsonNode.Parse(body) : null;
        var name = query.GetValueOrDefault("name") ?? (string?)resource?["name"];
        bool bucketExists;
        lock (_lock)
        {
            bucketExists = _buckets.Contains(bucket);
        }

        if (!bucketExists)
        {
            await ErrorAsync(context, 404, "The specified bucket does not exist.", "notFound");
            return;
        }

        if (name is null)
        {
            await ErrorAsync(context, 400, "Required parameter: name", "required");
            return;
        }

        var session = new Session
        {
            Bucket = bucket,
            Name = name,
            Metadata = Metadata(resource),
            IfGenerationMatch = query.TryGetValue("ifGenerationMatch", out var g) ? long.Parse(g, CultureInfo.InvariantCulture) : null,
        };
        if (PreconditionFails(bucket, name, session.IfGenerationMatch))
        {
            await ErrorAsync(context, 412, "At least one of the pre-conditions you specified did not hold.", "conditionNotMet");
            return;
        }

        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        lock (_lock)
        {
            _sessions[id] = session;
        }

        context.Response.Headers.Location = new Uri(Url, $"upload/storage/v1/b/{Uri.EscapeDataString(bucket)}/o?uploadType=resumable&upload_id={id}").ToString();
    }

    private async Task ChunkAsync(HttpContext context, string id)
    {
        Session? session;
        lock (_lock)
        {
            _sessions.TryGetValue(id, out session);
        }

        if (session is null)
        {
            await ErrorAsync(context, 404, "No such upload session.", "notFound");
            return;
        }

        // Content-Range: "bytes FIRST-LAST/TOTAL", "bytes FIRST-LAST/*", "bytes */TOTAL" or "bytes */*" (a status query).
        var range = context.Request.Headers.ContentRange.ToString();
        if (!range.StartsWith("bytes */", StringComparison.Ordinal) && Interlocked.Decrement(ref _cutChunks) >= 0)
        {
            context.Abort(); // nothing of this chunk is kept, and no answer comes
            return;
        }

        var spec = range.StartsWith("bytes ", StringComparison.Ordinal) ? range["bytes ".Length..] : "*/*";
        var slash = spec.IndexOf('/', StringComparison.Ordinal);
        var span = spec[..slash];
        long? total = spec[(slash + 1)..] == "*" ? null : long.Parse(spec[(slash + 1)..], CultureInfo.InvariantCulture);
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        if (span != "*" && Interlocked.Decrement(ref _failChunks) >= 0)
        {
            await ErrorAsync(context, 503, "Backend Error", "backendError");
            return;
        }

        lock (_lock)
        {
            if (span != "*")
            {
                var first = long.Parse(span[..span.IndexOf('-', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
                if (first <= session.Data.Length)
                {
                    // Bytes already persisted (a resent chunk) are skipped, as the service does.
                    var skip = session.Data.Length - first;
                    if (skip < body.Length)
                    {
#pragma warning disable VSTHRD103 // a MemoryStream, under a lock
                        session.Data.Write(body.GetBuffer(), (int)skip, (int)(body.Length - skip));
#pragma warning restore VSTHRD103
                    }
                }
            }
        }

        if (total is { } size && session.Data.Length >= size)
        {
            await FinishSessionAsync(context, id, session);
            return;
        }

        context.Response.StatusCode = 308;
        if (session.Data.Length > 0)
        {
            context.Response.Headers["Range"] = $"bytes=0-{session.Data.Length - 1}";
        }
    }

    private async Task FinishSessionAsync(HttpContext context, string id, Session session)
    {
        StoredObject stored;
        lock (_lock)
        {
            _sessions.Remove(id);
            if (PreconditionFails(session.Bucket, session.Name, session.IfGenerationMatch))
            {
                stored = null!;
            }
            else
            {
                stored = new StoredObject
                {
                    Data = session.Data.ToArray(),
                    Generation = ++_generation,
                    Metadata = session.Metadata,
                    Updated = Clock(),
                };
                _objects[(session.Bucket, session.Name)] = stored;
            }
        }

        if (stored is null)
        {
            await ErrorAsync(context, 412, "At least one of the pre-conditions you specified did not hold.", "conditionNotMet");
            return;
        }

        await context.Response.WriteAsync(Resource(session.Bucket, session.Name, stored).ToJsonString());
    }

    private bool PreconditionFails(string bucket, string name, long? ifGenerationMatch)
    {
        if (ifGenerationMatch is not { } expected)
        {
            return false;
        }

        lock (_lock)
        {
            var exists = _objects.TryGetValue((bucket, name), out var current);
            return expected == 0 ? exists : !exists || current!.Generation != expected;
        }
    }

    private static Dictionary<string, string> Metadata(JsonNode? resource) =>
        resource?["metadata"] is JsonObject m ? m.ToDictionary(p => p.Key, p => (string)p.Value!) : [];

    // ---- objects -----------------------------------------------------------------------------------------------

    private async Task ListAsync(HttpContext context, string bucket, Dictionary<string, string> query)
    {
        List<(string Name, StoredObject Object)> page;
        string? next = null;
        lock (_lock)
        {
            if (!_buckets.Contains(bucket))
            {
                page = null!;
            }
            else
            {
                var prefix = query.GetValueOrDefault("prefix") ?? "";
                var after = query.GetValueOrDefault("pageToken");
                var max = query.TryGetValue("maxResults", out var m) ? int.Parse(m, CultureInfo.InvariantCulture) : 1000;
                var all = _objects.Where(o => o.Key.Bucket == bucket && o.Key.Name.StartsWith(prefix, StringComparison.Ordinal)
                                              && (after is null || string.CompareOrdinal(o.Key.Name, after) > 0))
                    .OrderBy(o => o.Key.Name, StringComparer.Ordinal).Select(o => (o.Key.Name, o.Value)).ToList();
                page = [.. all.Take(max)];
                if (all.Count > max)
                {
                    next = page[^1].Name;
                }
            }
        }

        if (page is null)
        {
            await ErrorAsync(context, 404, "The specified bucket does not exist.", "notFound");
            return;
        }

        var result = new JsonObject { ["kind"] = "storage#objects", ["items"] = new JsonArray([.. page.Select(p => (JsonNode)Resource(bucket, p.Name, p.Object))]) };
        if (next is not null)
        {
            result["nextPageToken"] = next;
        }

        await context.Response.WriteAsync(result.ToJsonString());
    }

    private async Task GetAsync(HttpContext context, string bucket, string name, Dictionary<string, string> query)
    {
        StoredObject? found;
        lock (_lock)
        {
            _objects.TryGetValue((bucket, name), out found);
        }

        if (found is null || (query.TryGetValue("generation", out var g) && long.Parse(g, CultureInfo.InvariantCulture) != found.Generation))
        {
            await ErrorAsync(context, 404, $"No such object: {bucket}/{name}", "notFound");
            return;
        }

        if (query.GetValueOrDefault("alt") != "media")
        {
            await context.Response.WriteAsync(Resource(bucket, name, found).ToJsonString());
            return;
        }

        long start = 0;
        var range = context.Request.Headers.Range.ToString();
        if (range.StartsWith("bytes=", StringComparison.Ordinal))
        {
            start = long.Parse(range["bytes=".Length..].Split('-')[0], CultureInfo.InvariantCulture);
            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = $"bytes {start}-{found.Data.Length - 1}/{found.Data.Length}";
        }

        context.Response.ContentLength = found.Data.Length - start;
        context.Response.Headers["x-goog-generation"] = found.Generation.ToString(CultureInfo.InvariantCulture);
        var cut = Interlocked.Exchange(ref _breakDownloadsAfter, -1);
        if (cut >= 0 && cut < found.Data.Length - start)
        {
            await context.Response.Body.WriteAsync(found.Data.AsMemory((int)start, (int)cut));
            await context.Response.Body.FlushAsync();
            context.Abort();
            return;
        }

        await context.Response.Body.WriteAsync(found.Data.AsMemory((int)start));
    }

    private async Task DeleteAsync(HttpContext context, string bucket, string name, Dictionary<string, string> query)
    {
        bool removed;
        lock (_lock)
        {
            removed = !PreconditionFails(bucket, name, query.TryGetValue("ifGenerationMatch", out var g) ? long.Parse(g, CultureInfo.InvariantCulture) : null)
                      && _objects.Remove((bucket, name));
        }

        if (!removed)
        {
            await ErrorAsync(context, 404, $"No such object: {bucket}/{name}", "notFound");
            return;
        }

        context.Response.StatusCode = 204;
    }

    private async Task ComposeAsync(HttpContext context, string bucket, string name, Dictionary<string, string> query)
    {
        var request = JsonNode.Parse(await ReadTextAsync(context))!;
        var sources = request["sourceObjects"]!.AsArray();
        StoredObject? result = null;
        var status = 200;
        lock (_lock)
        {
            using var data = new MemoryStream();
            foreach (var source in sources)
            {
                if (!_objects.TryGetValue((bucket, (string)source!["name"]!), out var part)
                    || (source["generation"] is { } gen && long.Parse(gen.ToString(), CultureInfo.InvariantCulture) != part.Generation))
                {
                    status = 404;
                    break;
                }

#pragma warning disable VSTHRD103 // a MemoryStream, under a lock
                data.Write(part.Data);
#pragma warning restore VSTHRD103
            }

            if (status == 200 && PreconditionFails(bucket, name, query.TryGetValue("ifGenerationMatch", out var g) ? long.Parse(g, CultureInfo.InvariantCulture) : null))
            {
                status = 412;
            }

            if (status == 200)
            {
                result = new StoredObject
                {
                    Data = data.ToArray(),
                    Generation = ++_generation,
                    Metadata = Metadata(request["destination"]),
                    Updated = Clock(),
                    ContentType = (string?)request["destination"]?["contentType"] ?? "application/octet-stream",
                    Composite = true,
                };
                _objects[(bucket, name)] = result;
            }
        }

        switch (status)
        {
            case 404:
                await ErrorAsync(context, 404, "Object not found", "notFound");
                return;
            case 412:
                await ErrorAsync(context, 412, "At least one of the pre-conditions you specified did not hold.", "conditionNotMet");
                return;
        }

        await context.Response.WriteAsync(Resource(bucket, name, result!).ToJsonString());
    }

    private static JsonObject Resource(string bucket, string name, StoredObject o)
    {
        var resource = new JsonObject
        {
            ["kind"] = "storage#object",
            ["id"] = $"{bucket}/{name}/{o.Generation}",
            ["name"] = name,
            ["bucket"] = bucket,
            ["generation"] = o.Generation.ToString(CultureInfo.InvariantCulture),
            ["metageneration"] = "1",
            ["contentType"] = o.ContentType,
            ["size"] = o.Data.Length.ToString(CultureInfo.InvariantCulture),
            ["timeCreated"] = o.Updated.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["updated"] = o.Updated.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["etag"] = Convert.ToBase64String(BitConverter.GetBytes(o.Generation)),
            ["metadata"] = new JsonObject([.. o.Metadata.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))]),
        };
        if (!o.Composite)
        {
#pragma warning disable CA5351 // the API's md5Hash field, which the library checks uploads against; composite objects have none, as in GCS
            resource["md5Hash"] = Convert.ToBase64String(MD5.HashData(o.Data));
#pragma warning restore CA5351
        }

        return resource;
    }

    private static async Task ErrorAsync(HttpContext context, int status, string message, string reason)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=UTF-8";
        await context.Response.WriteAsync(new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = status,
                ["message"] = message,
                ["errors"] = new JsonArray(new JsonObject { ["domain"] = "global", ["reason"] = reason, ["message"] = message }),
            },
        }.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        foreach (var (_, (_, key)) in _keys)
        {
            key.Dispose();
        }
    }
}
