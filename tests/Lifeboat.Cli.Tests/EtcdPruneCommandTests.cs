using System.Text.Json;
using Lifeboat.Core.Snapshots;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

public sealed class EtcdPruneCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Put(SnapshotName name)
    {
        var key = SnapshotLayout.ToKey(name);
        var path = Path.Combine(_dir.Path, key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "x");
        return key;
    }

    [Fact]
    public async Task Prune_DryRunDeletesNothing_ThenTheRealRunDeletesWhatItPrinted()
    {
        var t = DateTimeOffset.UtcNow.AddDays(-3);
        var oldFull = Put(SnapshotName.Full(100, t, Compression.None));
        var oldDelta = Put(SnapshotName.Delta(101, 200, t.AddHours(1), Compression.None));
        var newFull = Put(SnapshotName.Full(200, t.AddDays(1), Compression.None));
        var newDelta = Put(SnapshotName.Delta(201, 300, t.AddDays(2), Compression.None));

        var (dry, dryOut, dryErr) = await CliRunner.RunAsync("etcd", "snapshots", "prune", "--store", _dir.Path, "--keep", "1", "--dry-run", "-o", "json");
        Assert.True(dry == 0, dryErr);
        using (var doc = JsonDocument.Parse(dryOut))
        {
            Assert.Equal([oldFull, oldDelta], doc.RootElement.GetProperty("deleted").EnumerateArray().Select(d => d.GetProperty("key").GetString()));
        }

        Assert.True(File.Exists(Path.Combine(_dir.Path, oldFull)));

        var (code, stdout, _) = await CliRunner.RunAsync("etcd", "snapshots", "prune", "--store", _dir.Path, "--keep", "1");
        Assert.Equal(0, code);
        Assert.Contains($"deleted {oldFull}", stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir.Path, oldFull)));
        Assert.False(File.Exists(Path.Combine(_dir.Path, oldDelta)));
        Assert.True(File.Exists(Path.Combine(_dir.Path, newFull)));
        Assert.True(File.Exists(Path.Combine(_dir.Path, newDelta)));

        var (zero, _, zeroErr) = await CliRunner.RunAsync("etcd", "snapshots", "prune", "--store", _dir.Path, "--keep", "0");
        Assert.Equal(ExitCodes.Usage, zero);
        Assert.Contains("--keep", zeroErr, StringComparison.Ordinal);
    }
}
