using System.Security.Cryptography;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>
/// Every snapshot records the etcd cluster it came from and the file it continues: a file of another cluster put into
/// a chain is refused by restore, compact and verify, naming it and its cluster; list marks it; a sidecar pointed at
/// another cluster's store refuses to start; a full snapshot written before the identity existed still restores,
/// with a warning.
/// </summary>
public sealed class EtcdIdentityTests : EtcdTest
{
    private string Store => Dir.Combine("store");

    private static string Hex(ulong id) => id.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A full snapshot after one write, then one delta per write; the same writes give the same revisions in any fresh etcd.</summary>
    private static async Task<string[]> ChainAsync(EtcdServer etcd, string store, int deltas)
    {
        using var client = etcd.CreateClient();
        await client.PutAsync("/v/0", "start", default);
        var (full, _, fullErr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", etcd.ClientUrl.ToString(), "--store", store);
        Assert.True(full == 0, fullErr);
        for (var i = 1; i <= deltas; i++)
        {
            await client.PutAsync($"/v/{i}", new string('x', 100), default);
            var (delta, _, deltaErr) = await CliRunner.RunAsync("etcd", "snapshot", "delta", "--endpoints", etcd.ClientUrl.ToString(), "--store", store);
            Assert.True(delta == 0, deltaErr);
        }

        var dir = Path.Combine(store, "etcd");
        return [.. Directory.GetFiles(dir, "full-*"), .. Directory.GetFiles(dir, "delta-*").Order(StringComparer.Ordinal)];
    }

    private static async Task<ulong> ClusterAsync(EtcdServer etcd)
    {
        using var client = etcd.CreateClient();
        return (await client.StatusAsync(null, default)).Header.ClusterId;
    }

    [Fact]
    public async Task AnotherClustersDelta_InTheChain_IsRefusedByRestoreVerifyAndCompact_AndListMarksIt()
    {
        await using var other = await EtcdServer.StartAsync();
        var ours = await ChainAsync(Etcd, Store, 3);
        var theirs = await ChainAsync(other, Dir.Combine("other-store"), 3);
        var (ourCluster, theirCluster) = (await ClusterAsync(Etcd), await ClusterAsync(other));
        Assert.NotEqual(ourCluster, theirCluster);
        Assert.All(ours, f => Assert.Contains(Hex(ourCluster), Path.GetFileName(f), StringComparison.Ordinal));

        // Their second delta, under its own name, where ours was (same revisions): a copy mistake between two stores.
        var foreign = Path.Combine(Store, "etcd", Path.GetFileName(theirs[2]));
        File.Delete(ours[2]);
        File.Copy(theirs[2], foreign);

        var dataDir = Dir.Combine("restored");
        var (restore, _, restoreErr) = await CliRunner.RunAsync("etcd", "restore", "--store", Store, "--data-dir", dataDir);
        Assert.Equal(ExitCodes.IntegrityError, restore);
        var error = Assert.Single(restoreErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(Path.GetFileName(foreign), error, StringComparison.Ordinal);
        Assert.Contains($"comes from etcd cluster {Hex(theirCluster)}, not from cluster {Hex(ourCluster)}", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dataDir));

        var (compact, _, compactErr) = await CliRunner.RunAsync("etcd", "snapshot", "compact", "--store", Store);
        Assert.Equal(ExitCodes.IntegrityError, compact);
        Assert.Contains(Path.GetFileName(foreign), compactErr, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(Path.Combine(Store, "etcd"), "full-*")); // nothing compacted into the store

        var (verify, verifyOut, verifyErr) = await CliRunner.RunAsync("etcd", "snapshots", "verify", "--store", Store);
        Assert.Equal(ExitCodes.IntegrityError, verify);
        Assert.Contains("FOREIGN: " + Path.GetFileName(foreign), verifyOut.Replace("etcd/", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains(Hex(theirCluster), verifyErr, StringComparison.Ordinal);

        var (list, listOut, listErr) = await CliRunner.RunAsync("etcd", "snapshots", "list", "--store", Store);
        Assert.Equal(0, list);
        var marked = Assert.Single(listOut.Split('\n'), l => l.Contains(" OTHER ", StringComparison.Ordinal));
        Assert.Contains(Path.GetFileName(foreign), marked, StringComparison.Ordinal);
        Assert.Contains("1 snapshot(s) marked OTHER", listErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("delta")]
    [InlineData("full")]
    public async Task AnotherClustersFile_UnderOurName_IsRefused_NamingItAndTheClusterItHolds(string kind)
    {
        await using var other = await EtcdServer.StartAsync();
        var ours = await ChainAsync(Etcd, Store, 2);
        var theirs = await ChainAsync(other, Dir.Combine("other-store"), 2);
        var victim = kind == "full" ? 0 : 1;
        File.Copy(theirs[victim], ours[victim], overwrite: true); // same revisions, our name: only the content tells

        var dataDir = Dir.Combine("restored");
        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "restore", "--store", Store, "--data-dir", dataDir);

        Assert.Equal(ExitCodes.IntegrityError, code);
        var error = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(Path.GetFileName(ours[victim]), error, StringComparison.Ordinal);
        Assert.Contains($"holds data of cluster {Hex(await ClusterAsync(other))}", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dataDir));

        var (verify, _, verifyErr) = await CliRunner.RunAsync("etcd", "snapshots", "verify", "--store", Store, "--all");
        Assert.Equal(ExitCodes.IntegrityError, verify);
        Assert.Contains(Path.GetFileName(ours[victim]), verifyErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADeltaOfTheSameCluster_ThatContinuesAnotherFile_IsRefused()
    {
        // The same revisions and the same cluster, other bytes (as when two chains of one cluster fork after a restore
        // to an earlier point): only the link from the next delta to the file before it tells them apart.
        var ours = await ChainAsync(Etcd, Store, 2);
        File.Copy(Rewritten(ours[1]), ours[1], overwrite: true);
        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "restore", "--store", Store, "--data-dir", Dir.Combine("restored"));

        Assert.Equal(ExitCodes.IntegrityError, code);
        Assert.Contains(Path.GetFileName(ours[2]), stderr, StringComparison.Ordinal);
        Assert.Contains("does not continue", stderr, StringComparison.Ordinal);
    }

    /// <summary>A copy of a delta file with one revision's observed time changed and its checksum redone: sound, but not the same file.</summary>
    private string Rewritten(string delta)
    {
        var path = Dir.Combine("rewritten-" + Path.GetFileName(delta));
        using (var input = File.OpenRead(delta))
        using (var output = File.Create(path))
        {
            Lifeboat.Etcd.Deltas.Format.DeltaHeader? header = null;
            var records = new List<Lifeboat.Etcd.Deltas.Format.RevisionRecord>();
            foreach (var record in Lifeboat.Etcd.Deltas.DeltaFile.ReadAsync(input, delta, h => header = h, default).ToBlockingEnumerable())
            {
                record.ObservedUnixMicros += 1;
                records.Add(record);
            }

            Lifeboat.Etcd.Deltas.DeltaFile.WriteAsync(output, header!, records, default).GetAwaiter().GetResult();
        }

        return path;
    }

    [Fact]
    public async Task AFullSnapshotWrittenBeforeIdentities_StillRestores_WithAWarning()
    {
        using var client = Etcd.CreateClient();
        await client.PutAsync("/v/0", "start", default);
        Assert.Equal(0, (await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Etcd.ClientUrl.ToString(), "--store", Store)).ExitCode);
        // What an older Lifeboat wrote: the database and etcd's hash of it, under a name without the cluster.
        var full = Directory.GetFiles(Path.Combine(Store, "etcd"), "full-*").Single();
        var bytes = await File.ReadAllBytesAsync(full);
        var database = bytes[..^(512 + 32)];
        var legacy = System.Text.RegularExpressions.Regex.Replace(full, "-[0-9a-f]{16}\\.db$", ".db");
        Assert.NotEqual(full, legacy);
        File.Delete(full);
        await File.WriteAllBytesAsync(legacy, [.. database, .. SHA256.HashData(database)]);
        await client.PutAsync("/v/1", "after", default);
        Assert.Equal(0, (await CliRunner.RunAsync("etcd", "snapshot", "delta", "--endpoints", Etcd.ClientUrl.ToString(), "--store", Store)).ExitCode);

        var (code, stdout, stderr) = await CliRunner.RunAsync("etcd", "restore", "--store", Store, "--data-dir", Dir.Combine("restored"));

        Assert.True(code == 0, stderr);
        Assert.Contains("restored", stdout, StringComparison.Ordinal);
        Assert.Contains("warning: full snapshot", stderr, StringComparison.Ordinal);
        Assert.Contains("before Lifeboat recorded the cluster", stderr, StringComparison.Ordinal);
        var (list, listOut, _) = await CliRunner.RunAsync("etcd", "snapshots", "list", "--store", Store);
        Assert.Equal(0, list);
        Assert.DoesNotContain(" OTHER ", listOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASidecarPointedAtAnotherClustersStore_RefusesToStart_Exit7()
    {
        await ChainAsync(Etcd, Store, 1);
        await using var other = await EtcdServer.StartAsync();

        using var sidecar = RunningSidecar.Start("--endpoints", other.ClientUrl.ToString(), "--store", Store);
        var (code, _, stderr) = await sidecar.Run.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(ExitCodes.Refused, code);
        Assert.Contains($"already holds snapshots of another etcd cluster ({Hex(await ClusterAsync(Etcd))}", stderr, StringComparison.Ordinal);
        Assert.Contains("its own store or prefix", stderr, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(Path.Combine(Store, "etcd"), "full-*")); // it wrote nothing

        // Its own prefix is fine.
        using var own = await RunningSidecar.StartReadyAsync("--endpoints", other.ClientUrl.ToString(), "--store", Dir.Combine("store-other"));
        Assert.False(own.Run.IsCompleted);
    }
}
