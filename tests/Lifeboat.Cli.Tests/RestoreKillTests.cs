using System.Diagnostics;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>
/// A restore killed midway (SIGKILL, so nothing of it runs on the way out): the next restore removes what it left,
/// and nothing it did not leave. (That a temporary etcd dies with its parent is <c>LifelineTests</c>' part.)
/// </summary>
public sealed class RestoreKillTests : EtcdTest
{
    private string Store => Dir.Combine("store");

    [Fact]
    public async Task KilledMidway_TheNextRestoreRemovesItsDebris_AndOnlyThat()
    {
        using (var client = Etcd.CreateClient())
        {
            await client.PutAsync("/k/start", "0", default);
            Assert.Equal(0, (await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Etcd.ClientUrl.ToString(), "--store", Store)).ExitCode);
            // Enough revisions that the replay takes a few seconds: the kill lands while the replay etcd runs.
            await Task.WhenAll(Enumerable.Range(0, 8).Select(async w =>
            {
                using var writer = Etcd.CreateClient();
                for (var i = 0; i < 2500; i++)
                {
                    await writer.PutAsync($"/k/{w}/{i % 50}", new string('v', 200), default);
                }
            }));
            Assert.Equal(0, (await CliRunner.RunAsync("etcd", "snapshot", "delta", "--endpoints", Etcd.ClientUrl.ToString(), "--store", Store)).ExitCode);
        }

        var scratch = Dir.Combine("scratch");
        Directory.CreateDirectory(scratch);
        // Not the dead restore's: one without an owner lock (made by something else), one whose owner still runs.
        var foreign = Directory.CreateDirectory(Path.Combine(scratch, ".lifeboat-restore-not-ours")).FullName;
        var alive = Directory.CreateDirectory(Path.Combine(scratch, ".lifeboat-restore-alive")).FullName;
        await using var aliveLock = new FileStream(Path.Combine(alive, "owner.lock"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);

        await LifeboatShim.WriteAsync(Dir.Path);
        var dataDir = Dir.Combine("restored");
        var psi = Shell.StartInfo($"./lifeboat etcd restore --store '{Store}' --data-dir '{dataDir}' --scratch-dir '{scratch}'", Dir.Path);
        using var restore = Process.Start(psi)!;
        await Eventually.SucceedsAsync(_ =>
        {
            Assert.False(restore.HasExited, "the restore finished before it could be killed");
            return Task.FromResult(Directory.GetDirectories(scratch, ".lifeboat-restore-2*").Length > 0 ? true : throw new InvalidOperationException("no scratch directory yet"));
        }, TimeSpan.FromSeconds(60), "the restore to begin its work");

        // SIGKILL to Lifeboat (and the shell that started it): nothing of it runs on the way out.
        foreach (var lifeboat in Processes.ChildrenOf(restore.Id).Where(p => Processes.CommandLine(p).Contains("lifeboat.dll", StringComparison.Ordinal)))
        {
            Process.GetProcessById(lifeboat).Kill();
        }

        restore.Kill();
        await restore.WaitForExitAsync();
        var dead = Directory.GetDirectories(scratch, ".lifeboat-restore-2*");
        Assert.Single(dead); // what the kill left
        Assert.False(Directory.Exists(dataDir));

        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "restore", "--store", Store, "--data-dir", dataDir, "--scratch-dir", scratch);

        Assert.True(code == 0, stderr);
        Assert.Contains($"removed {dead[0]}, left by a restore that was killed midway", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dead[0]));
        Assert.True(Directory.Exists(foreign));
        Assert.True(Directory.Exists(alive));
        Assert.Equal(2, Directory.GetDirectories(scratch).Length);
    }
}
