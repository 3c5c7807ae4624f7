using System.Net.Http.Headers;
using k8s.Authentication;
using Lifeboat.Core.IO;

namespace Lifeboat.Kubernetes.Config;

/// <summary>
/// A bearer token Lifeboat obtains itself and hands to KubernetesClient as its <see cref="ITokenProvider"/>, because
/// the library's own providers fall short where it matters to a long-running job: its token file is re-read once a
/// minute (not when the kubelet rotates it), its exec plugin runs while the configuration is built, ignores the
/// plugin's exit code and joins arguments unquoted, and nothing there asks for a new token after a 401.
/// </summary>
public abstract class KubeCredentials : ITokenProvider, IDisposable
{
    private int _expired;

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>A short description for <c>/config</c> and messages; never the secret.</summary>
    public abstract string Describe();

    /// <summary>The Authorization header to send; <paramref name="refresh"/> after a 401 asks for a fresh one.</summary>
    public abstract ValueTask<AuthenticationHeaderValue?> AuthorizationAsync(bool refresh, CancellationToken cancellationToken);

    /// <summary>The API server refused the token (401): the next request gets a fresh one.</summary>
    public void Expire() => Interlocked.Exchange(ref _expired, 1);

    async Task<AuthenticationHeaderValue> ITokenProvider.GetAuthenticationHeaderAsync(CancellationToken cancellationToken) =>
        (await AuthorizationAsync(Interlocked.Exchange(ref _expired, 0) == 1, cancellationToken))!;
}

/// <summary>
/// A bearer token read from a file and read again whenever the file changes: projected service-account tokens are
/// rotated by the kubelet (hourly by default) and a long-running process must follow.
/// </summary>
public sealed class TokenFileCredentials(string path, TimeProvider? time = null) : KubeCredentials
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _token;
    private string? _modified;
    private DateTimeOffset _readAt;

    public string Path => path;

    public override string Describe() => $"bearer token from {path}";

    public override async ValueTask<AuthenticationHeaderValue?> AuthorizationAsync(bool refresh, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var now = _time.GetUtcNow();
            if (_token is null || refresh || now - _readAt > MaxAge || MountedFile.Version(path) != _modified)
            {
                try
                {
                    _modified = MountedFile.Version(path);
                    _token = (await File.ReadAllTextAsync(path, cancellationToken)).Trim();
                    _readAt = now;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new KubeConfigException($"cannot read the token file {path}: {ex.Message}",
                        "check that the service account token is mounted (automountServiceAccountToken)", ex);
                }
            }

            return new AuthenticationHeaderValue("Bearer", _token);
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gate.Dispose();
        }

        base.Dispose(disposing);
    }
}
