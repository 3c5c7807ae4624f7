using Azure.Identity;
using Azure.Storage;

namespace Lifeboat.Storage.Azure;

/// <summary>
/// Where the Azure credentials come from, first match wins:
/// <list type="number">
/// <item>files of a mounted Secret (<see cref="AzureCredentialFiles"/>): <c>--azure-credentials-dir</c>, else
/// <c>LIFEBOAT_AZURE_CREDENTIALS_DIR</c>, else <c>AZURE_APPLICATION_CREDENTIALS</c> (Gardener's variable);</item>
/// <item><c>AZURE_STORAGE_CONNECTION_STRING</c>;</item>
/// <item>the account (<c>--azure-account</c>, else <c>AZURE_STORAGE_ACCOUNT</c>) with <c>AZURE_STORAGE_KEY</c>, or with
/// <c>AZURE_STORAGE_SAS_TOKEN</c>, or alone with a Microsoft Entra ID identity (workload identity's
/// <c>AZURE_CLIENT_ID</c>/<c>AZURE_TENANT_ID</c>/<c>AZURE_FEDERATED_TOKEN_FILE</c>, a managed identity, or what
/// <see cref="DefaultAzureCredential"/> finds).</item>
/// </list>
/// The environment names are the Azure CLI's. Secrets are never flags (a command line is visible to every user of the
/// machine). The blob service is <c>https://ACCOUNT.blob.core.windows.net</c> unless <c>--azure-endpoint</c> (or
/// <c>LIFEBOAT_AZURE_ENDPOINT</c>) names another (Azurite, a sovereign cloud), or the Secret's <c>domain</c> file another domain.
/// </summary>
public static class AzureEnvironment
{
    public static AzureBlobStoreOptions Credentials(AzureBlobStoreOptions options, StoreSettings settings, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(environment);
        string? Env(string name) => environment(name) is { Length: > 0 } value ? value.Trim() : null;
        options = options with { BlockSize = settings.AzureBlockSize, Parallelism = settings.AzureParallelism };
        if (CredentialsDir(settings, environment) is { } dir)
        {
            var files = AzureCredentialFiles.Open(dir);
            return options with { CredentialFiles = files, ServiceUri = Endpoint(settings, Env, files.Account, files.Domain) };
        }

        if (Env("AZURE_STORAGE_CONNECTION_STRING") is { } connection)
        {
            return options with { ConnectionString = connection };
        }

        var account = settings.AzureAccount ?? Env("AZURE_STORAGE_ACCOUNT")
            ?? throw new ArgumentException("no Azure credentials: pass --azure-credentials-dir (a mounted Secret with storageAccount and storageKey), " +
                "or set AZURE_STORAGE_CONNECTION_STRING, or --azure-account (AZURE_STORAGE_ACCOUNT) with AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN " +
                "or a workload/managed identity");
        options = options with { ServiceUri = Endpoint(settings, Env, account, null) };
        if (Env("AZURE_STORAGE_KEY") is { } key)
        {
            try
            {
                return options with { SharedKey = new StorageSharedKeyCredential(account, key) };
            }
            catch (FormatException ex)
            {
                throw new ArgumentException("AZURE_STORAGE_KEY is not a storage account key (base64)", ex);
            }
        }

        return Env("AZURE_STORAGE_SAS_TOKEN") is { } sas
            ? options with { SasToken = sas }
            : options with { TokenCredential = new DefaultAzureCredential() };
    }

    private static string? CredentialsDir(StoreSettings settings, Func<string, string?> environment) =>
        new[] { settings.AzureCredentialsDir, environment("LIFEBOAT_AZURE_CREDENTIALS_DIR"), environment("AZURE_APPLICATION_CREDENTIALS") }
            .FirstOrDefault(d => !string.IsNullOrWhiteSpace(d));

    private static Uri Endpoint(StoreSettings settings, Func<string, string?> env, string account, string? domain)
    {
        if (settings.AzureEndpoint is { } flag)
        {
            return flag;
        }

        if (env("LIFEBOAT_AZURE_ENDPOINT") is { } custom)
        {
            return Uri.TryCreate(custom, UriKind.Absolute, out var endpoint) && endpoint.Scheme is "http" or "https"
                ? endpoint
                : throw new ArgumentException($"LIFEBOAT_AZURE_ENDPOINT '{custom}' is not an http(s) URL: write it as https://ACCOUNT.blob.core.windows.net");
        }

        return new Uri($"https://{account}.{domain ?? "blob.core.windows.net"}");
    }

    /// <summary>Which credential kind applies, for the start-up log and <c>/config</c>; never a secret.</summary>
    public static string Describe(StoreSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        bool Set(string name) => settings.ReadsEnvironment && Environment.GetEnvironmentVariable(name) is { Length: > 0 };
        return CredentialsDir(settings, settings.ReadsEnvironment ? Environment.GetEnvironmentVariable : _ => null) is { } dir ? $"files in {dir}"
            : Set("AZURE_STORAGE_CONNECTION_STRING") ? "connection string (AZURE_STORAGE_CONNECTION_STRING)"
            : Set("AZURE_STORAGE_KEY") ? "account key (AZURE_STORAGE_KEY)"
            : Set("AZURE_STORAGE_SAS_TOKEN") ? "SAS token (AZURE_STORAGE_SAS_TOKEN)"
            : "Microsoft Entra ID (workload identity, managed identity or the default chain)";
    }
}
