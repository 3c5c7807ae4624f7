using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lifeboat.Kubernetes.Config;

/// <summary>
/// A kubeconfig <c>exec</c> credential plugin (client.authentication.k8s.io v1 or v1beta1): runs the command, reads an
/// ExecCredential from its standard output, and keeps the token until shortly before <c>expirationTimestamp</c> or
/// until the API answers 401. Plugins that return client certificates instead of a token are refused with a clear
/// message (Lifeboat does not rebuild its TLS connection per credential).
/// </summary>
public sealed class ExecCredentials : KubeCredentials
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ExpirySlack = TimeSpan.FromSeconds(30);
    private readonly ExecConfig _exec;
    private readonly string? _baseDirectory;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _token;
    private DateTimeOffset? _expires;

    public ExecCredentials(ExecConfig exec, string? baseDirectory, TimeProvider? time = null)
    {
        _exec = exec;
        _baseDirectory = baseDirectory;
        _time = time ?? TimeProvider.System;
        if (string.IsNullOrWhiteSpace(exec.Command))
        {
            throw new KubeConfigException("the kubeconfig user's exec plugin has no command", "set users[].user.exec.command");
        }

        if (exec.ApiVersion is not ("client.authentication.k8s.io/v1" or "client.authentication.k8s.io/v1beta1"))
        {
            throw new KubeConfigException($"exec plugin apiVersion '{exec.ApiVersion}' is not supported",
                "use client.authentication.k8s.io/v1 or v1beta1");
        }
    }

    /// <summary>How many times the plugin ran (for tests and logs).</summary>
    public int Runs { get; private set; }

    public override string Describe() => $"exec plugin {_exec.Command}";

    public override async ValueTask<AuthenticationHeaderValue?> AuthorizationAsync(bool refresh, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (refresh || _token is null || (_expires is { } expires && _time.GetUtcNow() >= expires - ExpirySlack))
            {
                (_token, _expires) = await RunAsync(cancellationToken);
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

    private async Task<(string Token, DateTimeOffset? Expires)> RunAsync(CancellationToken cancellationToken)
    {
        var command = _exec.Command!;
        if (command.Contains('/', StringComparison.Ordinal) && !Path.IsPathRooted(command) && _baseDirectory is not null)
        {
            command = Path.GetFullPath(Path.Combine(_baseDirectory, command)); // relative to the kubeconfig, as kubectl does
        }

        var start = new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in _exec.Args ?? [])
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var env in _exec.Env ?? [])
        {
            if (env.Name is { Length: > 0 } name)
            {
                start.Environment[name] = env.Value ?? "";
            }
        }

        start.Environment["KUBERNETES_EXEC_INFO"] = JsonSerializer.Serialize(new ExecInfo(_exec.ApiVersion!, new ExecInfoSpec(false)), ExecJson.Default.ExecInfo);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("no process");
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new KubeConfigException($"cannot run the credential plugin '{command}': {ex.Message}",
                _exec.InstallHint is { Length: > 0 } hint ? hint.Trim().ReplaceLineEndings(" ") : "install it, or put it on PATH", ex);
        }

        using (process)
        {
            Runs++;
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var errors = process.StandardError.ReadToEndAsync(cancellationToken);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(Timeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                throw new KubeConfigException($"the credential plugin '{command}' did not answer within {Timeout.TotalSeconds:0} s",
                    "run it by hand to see what it waits for (it must not be interactive)");
            }

            var stdout = await output;
            var stderr = await errors;
            if (process.ExitCode != 0)
            {
                var first = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
                throw new KubeConfigException($"the credential plugin '{command}' failed (exit {process.ExitCode}){(first.Length > 0 ? ": " + first : "")}",
                    "run it by hand; it may need a login first");
            }

            ExecCredential? credential;
            try
            {
                credential = JsonSerializer.Deserialize(stdout, ExecJson.Default.ExecCredential);
            }
            catch (JsonException ex)
            {
                throw new KubeConfigException($"the credential plugin '{command}' wrote no ExecCredential JSON: {ex.Message}", null, ex);
            }

            if (credential?.Status?.Token is { Length: > 0 } token)
            {
                return (token, credential.Status.ExpirationTimestamp);
            }

            throw new KubeConfigException(credential?.Status?.ClientCertificateData is not null
                    ? $"the credential plugin '{command}' returned a client certificate, which Lifeboat does not support from plugins"
                    : $"the credential plugin '{command}' returned no token",
                "use a plugin that returns a token, or put the client certificate in the kubeconfig");
        }
    }

    internal sealed record ExecInfo(string ApiVersion, ExecInfoSpec Spec)
    {
        public string Kind { get; init; } = "ExecCredential";
    }

    internal sealed record ExecInfoSpec(bool Interactive);

    internal sealed record ExecCredential(ExecCredentialStatus? Status);

    internal sealed record ExecCredentialStatus(string? Token, DateTimeOffset? ExpirationTimestamp, string? ClientCertificateData, string? ClientKeyData);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ExecCredentials.ExecInfo))]
[JsonSerializable(typeof(ExecCredentials.ExecCredential))]
internal sealed partial class ExecJson : JsonSerializerContext;
