using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>
/// etcd's user/password authentication, as etcdctl and etcd-backup-restore have it (<c>--user</c>,
/// <c>--password-file</c>), on a real etcd with auth enabled and a one-second token TTL, so that the sidecar must
/// re-authenticate while it runs.
/// </summary>
public sealed class EtcdAuthCommandTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private EtcdServer _etcd = null!;

    private string Endpoint => _etcd.ClientUrl.ToString();

    private string PasswordFile => _dir.Combine("password");

    public async Task InitializeAsync()
    {
        _etcd = await EtcdServer.StartAsync(extraArgs: ["--auth-token-ttl", "1"]);
        foreach (var args in new[] { new[] { "user", "add", "root:s3cret" }, ["auth", "enable"] })
        {
            var (code, _, stderr) = await Etcdctl.RunAsync(["--endpoints", Endpoint, .. args]);
            Assert.True(code == 0, stderr);
        }

        await File.WriteAllTextAsync(PasswordFile, "s3cret\n"); // as a mounted Secret holds it, newline and all
    }

    public async Task DisposeAsync()
    {
        await _etcd.DisposeAsync();
        _dir.Dispose();
    }

    private Task<(int, string, string)> PutAsync(string key) =>
        Etcdctl.RunAsync(["--endpoints", Endpoint, "--user", "root:s3cret", "put", key, "v"]);

    [Fact]
    public async Task Snapshot_WithoutUser_Exit4SayingHow_WithUser_Works_WrongPassword_Exit4()
    {
        var store = _dir.Combine("store");
        var (refused, _, refusedErr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Endpoint, "--store", store);
        Assert.Equal(ExitCodes.EtcdError, refused);
        Assert.Contains("pass --user NAME --password-file FILE", refusedErr, StringComparison.Ordinal);

        var (code, stdout, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Endpoint, "--store", store,
            "--user", "root", "--password-file", PasswordFile);
        Assert.True(code == 0, stderr);
        Assert.Contains("stored etcd/full-", stdout, StringComparison.Ordinal);

        await File.WriteAllTextAsync(_dir.Combine("wrong"), "nope");
        var (wrong, _, wrongErr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Endpoint, "--store", store,
            "--user", "root", "--password-file", _dir.Combine("wrong"));
        Assert.Equal(ExitCodes.EtcdError, wrong);
        Assert.Contains("check --user and the password in --password-file", wrongErr, StringComparison.Ordinal);

        var (inline, _, inlineErr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Endpoint, "--store", store, "--user", "root:s3cret");
        Assert.Equal(ExitCodes.Usage, inline);
        Assert.Contains("put it in --password-file", inlineErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sidecar_KeepsCapturingAcrossTokenExpiry_UntilTheChainReachesEtcd()
    {
        var store = _dir.Combine("store");
        using var sidecar = await RunningSidecar.StartReadyAsync("--endpoints", Endpoint, "--store", store, "--delta-period", "1s",
            "--user", "root", "--password-file", PasswordFile);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(0, (await PutAsync($"/auth/{i}")).Item1);
            await Task.Delay(TimeSpan.FromSeconds(1.5)); // longer than the token TTL: every delta needs a fresh token
        }

        var (_, statusOut, _) = await Etcdctl.RunAsync(["--endpoints", Endpoint, "--user", "root:s3cret", "endpoint", "status", "-w", "json"]);
        var revision = long.Parse(System.Text.RegularExpressions.Regex.Match(statusOut, "\"revision\":(\\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        await Eventually.SucceedsAsync(async ct =>
        {
            using var response = await sidecar.Http.GetAsync(new Uri("/snapshots/latest", UriKind.Relative), ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            return System.Text.RegularExpressions.Regex.IsMatch(body, $"\"chainRevision\":\\s*{revision}\\b") ? true : throw new InvalidOperationException(body);
        }, TimeSpan.FromSeconds(30), "the chain to reach etcd's revision");
        var (code, stdout, stderr) = await sidecar.StopAsync();
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("invalid auth token", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task User_OnAnEtcdWithoutAuth_Works_WithAWarning()
    {
        await using var plain = await EtcdServer.StartAsync();
        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", plain.ClientUrl.ToString(), "--store", _dir.Combine("plain"),
            "--user", "root", "--password-file", PasswordFile);

        Assert.True(code == 0, stderr);
        Assert.Contains("authentication disabled", stderr, StringComparison.Ordinal);
    }
}
