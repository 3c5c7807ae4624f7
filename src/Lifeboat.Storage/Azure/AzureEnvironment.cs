using Azure.Identity;
using Azure.Storage;

namespace Lifeboat.Storage.Azure;

/// <summary>
/// Azure credentials from the environment, first match wins: <c>AZURE_STORAGE_CONNECTION_STRING</c>;
/// <c>AZURE_STORAGE_ACCOUNT</c> with <c>AZURE_STORAGE_KEY</c>; <c>AZURE_STORAGE_ACCOUNT</c> with
/// <c>AZURE_STORAGE_SAS_TOKEN</c>; else <c>AZURE_STORAGE_ACCOUNT</c> alone with a Microsoft Entra ID identity
/// (workload identity's <c>AZURE_CLIENT_ID</c>/<c>AZURE_TENANT_ID</c>/<c>AZURE_FEDERATED_TOKEN_FILE</c>, a managed
/// identity, or what <see cref="DefaultAzureCredential"/> finds). These are the Azure CLI's names. The blob service is
/// <c>https://ACCOUNT.blob.core.windows.net</c> unless <c>LIFEBOAT_AZURE_ENDPOINT</c> names another (Azurite, a
/// sovereign cloud).
/// </summary>
public static class AzureEnvironment
{
    public static AzureBlobStoreOptions Credentials(AzureBlobStoreOptions options, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(environment);
        string? Env(string name) => environment(name) is { Length: > 0 } value ? value.Trim() : null;
        if (Env("AZURE_STORAGE_CONNECTION_STRING") is { } connection)
        {
            return options with { ConnectionString = connection };
        }

        var account = Env("AZURE_STORAGE_ACCOUNT")
            ?? throw new ArgumentException("no Azure credentials: set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY, " +
                "AZURE_STORAGE_SAS_TOKEN or a workload/managed identity");
        Uri endpoint;
        if (Env("LIFEBOAT_AZURE_ENDPOINT") is { } custom)
        {
            if (!Uri.TryCreate(custom, UriKind.Absolute, out endpoint!) || endpoint.Scheme is not ("http" or "https"))
            {
                throw new ArgumentException($"LIFEBOAT_AZURE_ENDPOINT '{custom}' is not an http(s) URL: write it as https://ACCOUNT.blob.core.windows.net");
            }
        }
        else
        {
            endpoint = new Uri($"https://{account}.blob.core.windows.net");
        }

        options = options with { ServiceUri = endpoint };
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

    /// <summary>Which credential kind the environment gives, for <c>/config</c>; never a secret.</summary>
    public static string Describe()
    {
        static bool Set(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 };
        return Set("AZURE_STORAGE_CONNECTION_STRING") ? "connection string (AZURE_STORAGE_CONNECTION_STRING)"
            : Set("AZURE_STORAGE_KEY") ? "account key (AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY)"
            : Set("AZURE_STORAGE_SAS_TOKEN") ? "SAS token (AZURE_STORAGE_SAS_TOKEN)"
            : "Microsoft Entra ID (workload identity, managed identity or the default chain)";
    }
}
