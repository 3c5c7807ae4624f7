using System.Text.RegularExpressions;
using Lifeboat.Cli.Hosting;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests.Hosting;

/// <summary>
/// What ships for monitoring: a real sidecar's /metrics passes <c>promtool check metrics</c>, the alert rules in
/// deploy/prometheus pass <c>promtool test rules</c> (including the idle etcd that must not alert), and every metric
/// the rules use is one the sidecar serves and docs/metrics.md lists.
/// </summary>
public sealed partial class MetricsRulesTests : EtcdTest
{
    [GeneratedRegex(@"\blifeboat_[a-z_]+")]
    private static partial Regex MetricName();

    [Fact]
    public async Task SidecarMetrics_PassPromtool_AndServeEveryMetricTheAlertRulesUse()
    {
        var store = Dir.Combine("store");
        using var sidecar = await RunningSidecar.StartReadyAsync("--endpoints", Etcd.ClientUrl.ToString(), "--store", store,
            "--buffer-dir", Dir.Combine("buffer"), "--delta-period", "1s", "--verify-after-upload", "--mirror-store", Dir.Combine("mirror"));
        // Every metric appears once what it measures has happened: here, the first mirror round.
        var metrics = await Eventually.SucceedsAsync(async ct =>
        {
            var text = await sidecar.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct);
            return text.Contains("lifeboat_mirror_last_success_timestamp_seconds ", StringComparison.Ordinal) ? text : throw new InvalidOperationException("no mirror round yet");
        }, TimeSpan.FromSeconds(30), "the first mirror round");
        var file = Dir.Combine("metrics.txt");
        await File.WriteAllTextAsync(file, metrics);

        var check = await Shell.RunAsync($"promtool check metrics < '{file}'", Dir.Path);
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains("lifeboat_snapshot_verified 1\n", metrics, StringComparison.Ordinal); // the first full snapshot, read back intact
        Assert.Contains("lifeboat_snapshot_verifications_total{result=\"ok\"} 1\n", metrics, StringComparison.Ordinal);

        var served = MetricName().Matches(metrics).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
        var documented = File.ReadAllText(Repository.Path("docs", "metrics.md"));
        var rules = File.ReadAllText(Repository.Path("deploy", "prometheus", "lifeboat-alerts.yaml"));
        foreach (var used in MetricName().Matches(rules).Select(m => m.Value).Distinct())
        {
            Assert.True(served.Contains(used) || served.Contains(used + "_total"), $"the alert rules use {used}, which the sidecar does not serve");
            Assert.Contains($"`{used}`", documented, StringComparison.Ordinal);
        }

        await sidecar.StopAsync();
    }

    [Fact]
    public async Task AlertRules_PassPromtoolsUnitTests()
    {
        var dir = Repository.Path("deploy", "prometheus");
        var check = await Shell.RunAsync("promtool check rules lifeboat-alerts.yaml", dir);
        Assert.True(check.ExitCode == 0, check.ToString());

        var test = await Shell.RunAsync("promtool test rules lifeboat-alerts.test.yaml", dir);
        Assert.True(test.ExitCode == 0, test.ToString());
    }

    [Fact]
    public void Behind_IsZeroWhileTheChainReachesEtcd_HoweverLongEtcdIsIdle_AndCountsFromWhenItFellBehind()
    {
        var time = new ManualTimeProvider(DateTimeOffset.Parse("2026-12-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var state = new SidecarState(time);
        state.Etcd(100);
        state.Reach(100);
        time.Advance(TimeSpan.FromHours(6)); // no writes, no snapshots: nothing is missing

        Assert.Equal(TimeSpan.Zero, state.Behind);

        state.Etcd(105); // a write the store does not hold yet
        time.Advance(TimeSpan.FromMinutes(3));
        state.Etcd(110);
        time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(TimeSpan.FromMinutes(7), state.Behind); // from the first missing change, not the latest

        state.Reach(108);
        Assert.Equal(TimeSpan.FromMinutes(7), state.Behind);
        state.Reach(110);
        Assert.Equal(TimeSpan.Zero, state.Behind);

        state.ResetReach(0); // a new chain starts: behind until its full snapshot is stored
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(TimeSpan.FromSeconds(30), state.Behind);
    }
}
