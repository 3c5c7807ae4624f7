using System.Text.Json;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary><c>etcd snapshots verify</c>, <c>describe</c> and <c>etcd restore --dry-run</c> on a real etcd's snapshots, intact and damaged.</summary>
public sealed class EtcdVerifyCommandTests : EtcdTest
{
    private string Store => Dir.Combine("store");

    private string Endpoint => Etcd.ClientUrl.ToString();

    /// <summary>A chain: a full snapshot and three gzip deltas of a few writes each; returns the files in chain order.</summary>
    private async Task<string[]> ChainAsync()
    {
        using var client = Etcd.CreateClient();
        await client.PutAsync("/v/0", "start", default);
        var (full, _, fullErr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", Endpoint, "--store", Store);
        Assert.True(full == 0, fullErr);
        for (var i = 1; i <= 3; i++)
        {
            await client.PutAsync($"/v/{i}", new string('x', 200), default);
            var (delta, _, deltaErr) = await CliRunner.RunAsync("etcd", "snapshot", "delta", "--endpoints", Endpoint, "--store", Store, "--compression", "gzip");
            Assert.True(delta == 0, deltaErr);
        }

        return [.. Directory.GetFiles(Path.Combine(Store, "etcd"), "full-*"), .. Directory.GetFiles(Path.Combine(Store, "etcd"), "delta-*").Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task Verify_IntactChain_Exit0_ThenEachKindOfDamageIsNamed_Exit6()
    {
        var files = await ChainAsync();
        var (ok, okOut, okErr) = await CliRunner.RunAsync("etcd", "snapshots", "verify", "--store", Store, "-o", "json");
        Assert.True(ok == 0, okErr);
        using (var doc = JsonDocument.Parse(okOut))
        {
            Assert.True(doc.RootElement.GetProperty("ok").GetBoolean());
            Assert.Equal(4, doc.RootElement.GetProperty("snapshots").GetArrayLength());
        }

        // A truncated full snapshot (listed as restorable by name alone), a bit flipped in the last delta, the middle
        // delta gone (a hole in the chain).
        var fullBytes = await File.ReadAllBytesAsync(files[0]);
        await File.WriteAllBytesAsync(files[0], fullBytes[..^100]);
        var deltaBytes = await File.ReadAllBytesAsync(files[3]);
        deltaBytes[deltaBytes.Length / 2] ^= 0x10;
        await File.WriteAllBytesAsync(files[3], deltaBytes);
        File.Delete(files[2]);

        var (code, stdout, stderr) = await CliRunner.RunAsync("etcd", "snapshots", "verify", "--store", Store, "--all");

        Assert.Equal(ExitCodes.IntegrityError, code);
        var error = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(Path.GetFileName(files[0]), error, StringComparison.Ordinal);
        Assert.Contains("SHA-256 does not match", error, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(files[3]) + " (", error, StringComparison.Ordinal);
        Assert.Contains("in no delta", error, StringComparison.Ordinal); // the deleted one leaves a gap
        Assert.Contains(" — fix: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetFileName(files[1]) + " (", error, StringComparison.Ordinal); // the intact delta is not blamed
        Assert.Contains("DAMAGED", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Describe_ShowsRevisionsChecksumsAndChain_AndAnUnknownKeyIsRefused()
    {
        var files = await ChainAsync();
        var delta = Path.GetFileName(files[2]);

        var (code, stdout, stderr) = await CliRunner.RunAsync("etcd", "snapshots", "describe", delta, "--store", Store, "-o", "yaml");

        Assert.True(code == 0, stderr);
        Assert.Contains("ok: true", stdout, StringComparison.Ordinal);
        Assert.Contains("position: 2", stdout, StringComparison.Ordinal);
        Assert.Contains("deltas: 3", stdout, StringComparison.Ordinal);
        Assert.Matches(@"storedSha256: [0-9a-f]{64}", stdout);
        Assert.Contains("compression: gzip", stdout, StringComparison.Ordinal);

        var (text, textOut, _) = await CliRunner.RunAsync("etcd", "snapshots", "describe", Path.GetFileName(files[0]), "--store", Store);
        Assert.Equal(0, text);
        Assert.Matches(@"Database: +[\d.]+ KiB \(\d+ bytes\), page size 4096", textOut);
        Assert.Matches(@"Origin: +etcd cluster [0-9a-f]{16}, member [0-9a-f]{16}", textOut);
        Assert.Matches(@"Sha256: +[0-9a-f]{64} \(the hash it ends with\)", textOut);
        Assert.Contains("this is its full snapshot", textOut, StringComparison.Ordinal);

        var (missing, _, missingErr) = await CliRunner.RunAsync("etcd", "snapshots", "describe", "full-000000000000-000000000999-20260101T000000Z.db", "--store", Store);
        Assert.Equal(ExitCodes.Refused, missing);
        Assert.Contains("holds no snapshot", missingErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestoreDryRun_PrintsThePlan_AndTouchesNothing()
    {
        var files = await ChainAsync();
        var dataDir = Dir.Combine("would-restore");
        var before = Directory.GetFileSystemEntries(Dir.Path).Order(StringComparer.Ordinal).ToList();

        var (code, stdout, stderr) = await CliRunner.RunAsync("etcd", "restore", "--store", Store, "--data-dir", dataDir, "--dry-run", "-o", "json");

        Assert.True(code == 0, stderr);
        using (var doc = JsonDocument.Parse(stdout))
        {
            Assert.Equal(Path.GetFileName(files[0]), Path.GetFileName(doc.RootElement.GetProperty("full").GetString()));
            Assert.Equal(3, doc.RootElement.GetProperty("deltas").GetArrayLength());
            Assert.Equal(files.Sum(f => new FileInfo(f).Length), doc.RootElement.GetProperty("bytesToRead").GetInt64());
            Assert.Equal("missing", doc.RootElement.GetProperty("dataDirState").GetString());
        }

        Assert.Equal(before, Directory.GetFileSystemEntries(Dir.Path).Order(StringComparer.Ordinal).ToList());
        Assert.False(Directory.Exists(dataDir));

        Directory.CreateDirectory(dataDir);
        await File.WriteAllTextAsync(Path.Combine(dataDir, "keep"), "x");
        var (refused, text, refusedErr) = await CliRunner.RunAsync("etcd", "restore", "--store", Store, "--data-dir", dataDir, "--dry-run");
        Assert.Equal(ExitCodes.Refused, refused);
        Assert.Contains("would be refused without --force", text, StringComparison.Ordinal);
        Assert.Contains("nothing was changed", text, StringComparison.Ordinal);
        Assert.StartsWith("error: data directory", refusedErr, StringComparison.Ordinal);
        Assert.Equal(["keep"], Directory.GetFileSystemEntries(dataDir).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("cut")]
    [InlineData("appended")]
    [InlineData("swapped")]
    public async Task Restore_OfADamagedOrMisplacedDelta_Exit6NamingTheFile_AndTouchesNothing(string damage)
    {
        var files = await ChainAsync();
        var victim = files[2];
        switch (damage)
        {
            case "cut":
                var bytes = await File.ReadAllBytesAsync(victim);
                await File.WriteAllBytesAsync(victim, bytes[..^1]);
                break;
            case "appended":
                await File.AppendAllTextAsync(victim, "garbage");
                break;
            default:
                // Another delta's bytes under this one's name.
                File.Copy(files[3], victim, overwrite: true);
                break;
        }

        var dataDir = Dir.Combine("restored");
        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "restore", "--store", Store, "--data-dir", dataDir);

        Assert.Equal(ExitCodes.IntegrityError, code);
        var error = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(Path.GetFileName(victim), error, StringComparison.Ordinal);
        Assert.DoesNotContain("bug", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dataDir));
    }
}
