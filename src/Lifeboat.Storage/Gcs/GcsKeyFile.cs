using System.Net;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Http;
using Google.Apis.Storage.v1;
using Lifeboat.Core.Errors;
using Lifeboat.Core.IO;

namespace Lifeboat.Storage.Gcs;

/// <summary>
/// A service account's JSON key in a file, as a mounted Secret provides it (Gardener's <c>serviceaccount.json</c>),
/// read again when the file changes, so a rotated key takes effect without a restart. Only a service account key is
/// accepted: a credentials file of another type (an external account's configuration, a user's refresh token) can make
/// the library run programs or fetch URLs it names, which a backup Secret has no business doing.
/// </summary>
/// <remarks>
/// The library's own credential is built from the file once; this wraps the current one and swaps it when the file's
/// real file changes (<see cref="MountedFile.Version"/>: the kubelet swaps the link behind the file), before any request.
/// </remarks>
public sealed class GcsKeyFile : ICredential, IHttpExecuteInterceptor, IHttpUnsuccessfulResponseHandler
{
    private readonly Lock _lock = new();
    private string _stamp;
    private GoogleCredential _current;

    private GcsKeyFile(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        (_current, _stamp) = Load();
    }

    public string Path { get; }

    /// <summary>The service account's e-mail, for messages and <c>/config</c>.</summary>
    public string ClientEmail { get; private set; } = "";

    /// <summary>Reads the key once, so that a wrong path or a broken key fails at start rather than at the first upload.</summary>
    /// <exception cref="StoreException"><see cref="StoreErrorKind.AccessDenied"/>: missing, unreadable, or not a service account key.</exception>
    public static GcsKeyFile Open(string path) => new(path);

    private (GoogleCredential, string) Load()
    {
        var stamp = MountedFile.Version(Path);
        try
        {
            var account = CredentialFactory.FromFile<ServiceAccountCredential>(Path);
            ClientEmail = account.Id;
            return (account.ToGoogleCredential().CreateScoped(StorageService.Scope.DevstorageReadWrite), stamp);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StoreException(StoreErrorKind.AccessDenied, $"cannot read the GCS credentials file {Path}: {ex.Message}",
                "mount the Secret with the service account's JSON key there, or fix --gcs-credentials-file", ex);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException or Newtonsoft.Json.JsonException)
        {
            throw new StoreException(StoreErrorKind.AccessDenied, $"{Path} is not a service account's JSON key: {ObjectStore.FirstLine(ex.Message)}",
                "create a key for the service account (gcloud iam service-accounts keys create) and put that JSON file in the Secret", ex);
        }
    }

    private GoogleCredential Current()
    {
        var stamp = MountedFile.Version(Path);
        lock (_lock)
        {
            if (stamp != _stamp)
            {
                (_current, _stamp) = Load();
            }

            return _current;
        }
    }

    public void Initialize(ConfigurableHttpClient httpClient)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        httpClient.MessageHandler.AddExecuteInterceptor(this);
        httpClient.MessageHandler.AddUnsuccessfulResponseHandler(this);
    }

    public Task<string> GetAccessTokenForRequestAsync(string? authUri = null, CancellationToken cancellationToken = default) =>
        ((ITokenAccess)Current()).GetAccessTokenForRequestAsync(authUri, cancellationToken);

    public async Task InterceptAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var token = await GetAccessTokenForRequestAsync(request.RequestUri?.ToString(), cancellationToken);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>A 401 after the file changed is sent again with the new key (once: the next 401 is the answer).</summary>
    public Task<bool> HandleResponseAsync(HandleUnsuccessfulResponseArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Response.StatusCode != HttpStatusCode.Unauthorized || args.CurrentFailedTry > 1)
        {
            return Task.FromResult(false);
        }

        var before = _current;
        return Task.FromResult(!ReferenceEquals(Current(), before));
    }
}
