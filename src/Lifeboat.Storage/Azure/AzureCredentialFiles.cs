using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage;
using Lifeboat.Core.Errors;

namespace Lifeboat.Storage.Azure;

/// <summary>
/// Azure credentials from files of a mounted Secret: <c>storageAccount</c> with <c>storageKey</c> (the names
/// Gardener's Azure backup secrets use) or with <c>sasToken</c>, and optionally <c>domain</c> (the blob domain of a
/// sovereign cloud, default <c>blob.core.windows.net</c>). The key or token is read again before a request whenever its
/// file changed, so a rotated Secret takes effect without a restart. The account is read once: it names the store.
/// </summary>
public sealed class AzureCredentialFiles
{
    public const string AccountFile = "storageAccount";
    public const string KeyFile = "storageKey";
    public const string SasFile = "sasToken";
    public const string DomainFile = "domain";

    private readonly SecretDirectory _files;
    private readonly Lock _lock = new();
    private string[] _stamp;

    private AzureCredentialFiles(SecretDirectory files, string account, string? domain, StorageSharedKeyCredential? key, AzureSasCredential? sas)
    {
        _files = files;
        Account = account;
        Domain = domain;
        SharedKey = key;
        Sas = sas;
        _stamp = files.Stamp(KeyFile, SasFile);
    }

    public string Account { get; }

    /// <summary>The blob domain from the <c>domain</c> file, if there is one.</summary>
    public string? Domain { get; }

    public string Directory => _files.Directory;

    /// <summary>Updated in place when <c>storageKey</c> changes.</summary>
    internal StorageSharedKeyCredential? SharedKey { get; }

    /// <summary>Updated in place when <c>sasToken</c> changes.</summary>
    internal AzureSasCredential? Sas { get; }

    /// <summary>Reads the directory once, so that a wrong path or a missing key fails at start rather than at the first upload.</summary>
    /// <exception cref="StoreException">The files are missing, empty or unreadable, or the key is not base64.</exception>
    /// <exception cref="ArgumentException">Neither a key nor a SAS token.</exception>
    public static AzureCredentialFiles Open(string directory)
    {
        var files = new SecretDirectory(directory, "Azure credentials", "--azure-credentials-dir");
        var account = files.Read(AccountFile, required: true)!;
        var domain = files.Read(DomainFile, required: false);
        if (files.Read(KeyFile, required: false) is { } key)
        {
            return new AzureCredentialFiles(files, account, domain, new StorageSharedKeyCredential(account, ValidKey(key, files)), null);
        }

        return files.Read(SasFile, required: false) is { } sas
            ? new AzureCredentialFiles(files, account, domain, null, new AzureSasCredential(sas.TrimStart('?')))
            : throw new ArgumentException($"{files.Directory} has {AccountFile} but neither {KeyFile} nor {SasFile}: " +
                $"put the account key in {KeyFile} (or a SAS token in {SasFile})");
    }

    /// <summary>Checks the files' times, and re-reads the key or token if they changed. Cheap: two stats.</summary>
    internal void Refresh()
    {
        var stamp = _files.Stamp(KeyFile, SasFile);
        lock (_lock)
        {
            if (stamp.SequenceEqual(_stamp))
            {
                return;
            }

            if (SharedKey is not null)
            {
                SharedKey.SetAccountKey(ValidKey(_files.Read(KeyFile, required: true)!, _files));
            }
            else
            {
                Sas!.Update(_files.Read(SasFile, required: true)!.TrimStart('?'));
            }

            _stamp = stamp;
        }
    }

    private static string ValidKey(string key, SecretDirectory files)
    {
        var bytes = new byte[key.Length];
        return Convert.TryFromBase64String(key, bytes, out _)
            ? key
            : throw new StoreException(StoreErrorKind.AccessDenied, $"{Path.Combine(files.Directory, KeyFile)} does not hold a storage account key (base64)",
                "put the account's key1 or key2 in the Secret's storageKey");
    }

    /// <summary>
    /// Refreshes the files before every call, ahead of the SDK's signing. Per call, not per retry: the SDK's own
    /// per-retry policies (signing among them) run before a client's, so a refresh there would sign the next attempt.
    /// </summary>
    internal sealed class RefreshPolicy(AzureCredentialFiles files) : HttpPipelineSynchronousPolicy
    {
        public override void OnSendingRequest(HttpMessage message) => files.Refresh();
    }
}
