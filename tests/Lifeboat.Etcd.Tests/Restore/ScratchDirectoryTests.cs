using Lifeboat.Etcd.Restore;
using Lifeboat.Testing;

namespace Lifeboat.Etcd.Tests.Restore;

/// <summary>What a killed restore leaves is removed by the next one: its scratch directory and the half-laid-out member it recorded, and nothing else.</summary>
public sealed class ScratchDirectoryTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Abandoned_IsRemovedWithThePartialItRecorded_ButALiveOneAndAStrangerStay()
    {
        var root = _dir.Combine("root");
        Directory.CreateDirectory(root);
        // A dead restore: its lock file is there and nobody holds it; it recorded a partial layout beside the data dir.
        var dead = Directory.CreateDirectory(Path.Combine(root, ".lifeboat-restore-20261201T000000-dead")).FullName;
        File.WriteAllText(Path.Combine(dead, "owner.lock"), "");
        var partial = Directory.CreateDirectory(_dir.Combine(".data.lifeboat-partial-0123")).FullName;
        File.WriteAllText(Path.Combine(partial, "half"), "x");
        File.WriteAllText(Path.Combine(dead, "partial"), partial);
        // A live one (this process holds its lock), one without a lock, and a recorded path that is not a partial layout.
        using var live = ScratchDirectory.Create(root, "restore", DateTimeOffset.UtcNow);
        live.RecordPartial(_dir.Combine(".data.lifeboat-partial-live"));
        var stranger = Directory.CreateDirectory(Path.Combine(root, ".lifeboat-restore-stranger")).FullName;
        var liar = Directory.CreateDirectory(Path.Combine(root, ".lifeboat-init-liar")).FullName;
        File.WriteAllText(Path.Combine(liar, "owner.lock"), "");
        var precious = Directory.CreateDirectory(_dir.Combine("precious")).FullName;
        File.WriteAllText(Path.Combine(liar, "partial"), precious);

        var removed = ScratchDirectory.RemoveAbandoned([root, root]);

        Assert.Equal(new[] { dead, liar, partial }.Order(StringComparer.Ordinal), removed.Order(StringComparer.Ordinal));
        Assert.False(Directory.Exists(dead));
        Assert.False(Directory.Exists(partial));
        Assert.True(Directory.Exists(live.Path));
        Assert.True(Directory.Exists(stranger));
        Assert.True(Directory.Exists(precious)); // a recorded path that is not a partial layout is never deleted
    }
}
