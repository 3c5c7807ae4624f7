using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

public sealed class TlsCommandTests : IAsyncLifetime
{
    private readonly TestCertificates _pki = new();
    private readonly TempDirectory _dir = new();
    private EtcdServer? _etcd;

    public async Task InitializeAsync() => _etcd = await EtcdServer.StartAsync(_pki);

    public async Task DisposeAsync()
    {
        await _etcd!.DisposeAsync();
        _pki.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task SnapshotFull_WithEtcdctlStyleTlsFlags_Succeeds()
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", _etcd!.ClientUrl.ToString(),
            "--cacert", _pki.CaCertFile, "--cert", _pki.ClientCertFile, "--key", _pki.ClientKeyFile, "--store", _dir.Combine("s"));
        Assert.True(code == 0, stderr);
        Assert.StartsWith("stored ", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SnapshotFull_WithoutClientCertificate_Exits3AndExplainsTheCertificate()
    {
        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", _etcd!.ClientUrl.ToString(),
            "--cacert", _pki.CaCertFile, "--store", _dir.Combine("s"));
        Assert.Equal(ExitCodes.EtcdUnavailable, code);
        Assert.True(stderr.Contains("client certificate", StringComparison.Ordinal), stderr);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task SnapshotFull_CertWithoutKey_Exits2()
    {
        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", _etcd!.ClientUrl.ToString(),
            "--cert", _pki.ClientCertFile, "--store", _dir.Combine("s"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--key", stderr, StringComparison.Ordinal);
    }
}
