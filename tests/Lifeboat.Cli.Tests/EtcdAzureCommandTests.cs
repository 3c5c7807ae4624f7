using Lifeboat.Storage.Azure;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>
/// The etcd commands against Azure Blob Storage as Microsoft's emulator (Azurite) serves it, with the credentials in
/// the environment as a user would set them (AZURE_STORAGE_CONNECTION_STRING, or account and key).
/// </summary>
[Collection(AzureEnvironmentCollection.Name)]
public sealed class EtcdAzureCommandTests : EtcdTest
{
    private AzuriteServer _azurite = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _azurite = await AzuriteServer.StartAsync();
    }

    public override async Task DisposeAsync()
    {
        foreach (var name in new[] { "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "LIFEBOAT_AZURE_ENDPOINT" })
        {
            Environment.SetEnvironmentVariable(name, null);
        }

        await _azurite.DisposeAsync();
        await base.DisposeAsync();
    }

    private string Endpoint => Etcd.ClientUrl.ToString();

    private static string[] Member()
    {
        var peer = $"http://127.0.0.1:{LoopbackPorts.Next()}";
        return ["--name", "lifeboat-test", "--initial-cluster", $"lifeboat-test={peer}", "--initial-advertise-peer-urls", peer];
    }

    [Fact]
    public async Task FullDeltaRestore_ThroughAzureBlob_GzipByDefault()
    {
        Environment.SetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING", _azurite.ConnectionString);
        string[] store = ["--store", $"azblob://{AzuriteServer.Container}/cluster-a"];
        using var client = Etcd.CreateClient();
        for (var i = 0; i < 50; i++)
        {
            await client.PutAsync($"/az/{i}", new string('v', 500) + i, default);
        }

        var (full, _, fullErr) = await CliRunner.RunAsync(["etcd", "snapshot", "full", "--endpoints", Endpoint, .. store]);
        Assert.True(full == 0, fullErr);
        var last = (await client.PutAsync("/az/last", "2", default)).Header.Revision;
        var (delta, _, deltaErr) = await CliRunner.RunAsync(["etcd", "snapshot", "delta", "--endpoints", Endpoint, .. store]);
        Assert.True(delta == 0, deltaErr);

        var direct = AzureBlobStore.Open(_azurite.StoreOptions("cluster-a/"));
        var keys = await direct.ListAsync("", default).Select(o => o.Key).Order(StringComparer.Ordinal).ToListAsync();
        Assert.Equal(2, keys.Count);
        Assert.EndsWith(".delta.gz", keys[0], StringComparison.Ordinal);
        Assert.EndsWith(".db.gz", keys[1], StringComparison.Ordinal);
        var (verify, _, verifyErr) = await CliRunner.RunAsync(["etcd", "snapshots", "verify", .. store]);
        Assert.True(verify == 0, verifyErr);

        // The same store through the account and its key, as AZURE_STORAGE_ACCOUNT/AZURE_STORAGE_KEY give them.
        Environment.SetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING", null);
        Environment.SetEnvironmentVariable("AZURE_STORAGE_ACCOUNT", AzuriteServer.Account);
        Environment.SetEnvironmentVariable("AZURE_STORAGE_KEY", AzuriteServer.AccountKey);
        Environment.SetEnvironmentVariable("LIFEBOAT_AZURE_ENDPOINT", _azurite.ServiceUri.ToString());
        var dataDir = Dir.Combine("restored");
        var (restore, restoreOut, restoreErr) = await CliRunner.RunAsync(["etcd", "restore", .. store, "--data-dir", dataDir, .. Member()]);
        Assert.True(restore == 0, restoreErr);
        Assert.Contains($"at revision {last}", restoreOut, StringComparison.Ordinal);
        await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
        using var restoredClient = restored.CreateClient();
        Assert.Equal(last, (await restoredClient.StatusAsync(null, default)).Header.Revision);
        Assert.Equal(new string('v', 500) + "49", Assert.Single((await restoredClient.GetAsync("/az/49", default)).Kvs).Value.ToStringUtf8());
    }

    [Fact]
    public async Task BadInput_IsOneLine_AndNothingIsWritten()
    {
        Environment.SetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING", _azurite.ConnectionString);
        var (bad, _, badErr) = await CliRunner.RunAsync(["etcd", "snapshot", "full", "--endpoints", Endpoint, "--store", "azblob://No_Such/x"]);
        Assert.NotEqual(0, bad);
        Assert.Contains("not name a valid Azure Blob container", badErr, StringComparison.Ordinal);
        Assert.Single(badErr.Trim().Split('\n'));

        var (missing, _, missingErr) = await CliRunner.RunAsync(["etcd", "snapshot", "full", "--endpoints", Endpoint, "--store", "azblob://absent/x"]);
        Assert.NotEqual(0, missing);
        Assert.Contains("container 'absent' does not exist", missingErr, StringComparison.Ordinal);

        Environment.SetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING", null);
        var (none, _, noneErr) = await CliRunner.RunAsync(["etcd", "snapshots", "list", "--store", $"azblob://{AzuriteServer.Container}/x"]);
        Assert.NotEqual(0, none);
        Assert.Contains("AZURE_STORAGE_CONNECTION_STRING", noneErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACopysAzureTarget_NeverTakesTheEnvironmentsCredentials_OnlyItsOwn()
    {
        using var client = Etcd.CreateClient();
        await client.PutAsync("/az/copy", "1", default);
        var source = Dir.Combine("source");
        var (full, _, fullErr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Endpoint, "--store", source);
        Assert.True(full == 0, fullErr);
        // The environment describes the first store's account; a second store given only its account must not borrow it.
        Environment.SetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING", _azurite.ConnectionString);

        var (borrowed, _, _) = await CliRunner.RunAsync("etcd", "snapshots", "copy", "--from", source, "--to", $"azblob://{AzuriteServer.Container}/dr",
            "--to-azure-account", "dr-account", "--to-azure-endpoint", _azurite.ServiceUri.ToString());
        Assert.NotEqual(0, borrowed);
        Assert.Empty(await AzureBlobStore.Open(_azurite.StoreOptions("dr/")).ListAsync("", default).ToListAsync());

        var secret = Dir.Combine("dr-secret");
        Directory.CreateDirectory(secret);
        await File.WriteAllTextAsync(Path.Combine(secret, AzureCredentialFiles.AccountFile), AzuriteServer.Account);
        await File.WriteAllTextAsync(Path.Combine(secret, AzureCredentialFiles.KeyFile), AzuriteServer.AccountKey);
        var (own, ownOut, ownErr) = await CliRunner.RunAsync("etcd", "snapshots", "copy", "--from", source, "--to", $"azblob://{AzuriteServer.Container}/dr",
            "--to-azure-credentials-dir", secret, "--to-azure-endpoint", _azurite.ServiceUri.ToString());
        Assert.True(own == 0, ownErr);
        Assert.Contains("copied 1 etcd snapshot(s)", ownOut, StringComparison.Ordinal);
    }
}

/// <summary>Tests that set the process's AZURE_* variables run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AzureEnvironmentCollection
{
    public const string Name = "azure-environment";
}
