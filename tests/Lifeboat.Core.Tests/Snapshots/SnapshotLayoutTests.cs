using Lifeboat.Core.Snapshots;

namespace Lifeboat.Core.Tests.Snapshots;

public sealed class SnapshotLayoutTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 21, 9, 30, 15, TimeSpan.Zero);

    [Fact]
    public void ToKey_Full_CarriesKindRevisionTimeAndCompression()
    {
        var key = SnapshotLayout.ToKey(SnapshotName.Full(12345, T, Compression.Gzip));
        Assert.Equal("etcd/full-000000000000-000000012345-20261121T093015Z.db.gz", key);
    }

    [Fact]
    public void ToKey_EncryptedDelta_CarriesRangeAndKeyId()
    {
        var key = SnapshotLayout.ToKey(SnapshotName.Delta(12346, 13000, T, Compression.None, "k2026a"));
        Assert.Equal("etcd/delta-000000012346-000000013000-20261121T093015Z.delta.enc-k2026a", key);
    }

    [Theory]
    [InlineData(SnapshotKind.Full, 0, 1, Compression.None, null)]
    [InlineData(SnapshotKind.Full, 0, 9_000_000_000_000_000_000, Compression.Gzip, "abc")]
    [InlineData(SnapshotKind.Delta, 5, 5, Compression.Gzip, null)]
    [InlineData(SnapshotKind.Full, 0, 77, Compression.Zstd, "z9")]
    [InlineData(SnapshotKind.Delta, 78, 80, Compression.Zstd, null)]
    [InlineData(SnapshotKind.Delta, 1_000_000_000_000, 2_000_000_000_000, Compression.None, "K1")]
    public void TryParse_OfToKey_RoundTrips(SnapshotKind kind, long first, long last, Compression compression, string? keyId)
    {
        var name = kind == SnapshotKind.Full
            ? SnapshotName.Full(last, T, compression, keyId)
            : SnapshotName.Delta(first, last, T, compression, keyId);

        Assert.True(SnapshotLayout.TryParse(SnapshotLayout.ToKey(name), out var parsed));
        Assert.Equal(name, parsed);
    }

    [Theory]
    [InlineData("etcd/full-000000000000-000000012345-20261121T093015Z.db.tmp")]
    [InlineData("etcd/.tmp/abc.part")]
    [InlineData("etcd/full-000000000001-000000012345-20261121T093015Z.db")] // a full snapshot starts at 0
    [InlineData("etcd/delta-000000000010-000000000009-20261121T093015Z.delta")] // ends before it starts
    [InlineData("etcd/delta-000000000000-000000000009-20261121T093015Z.delta")] // revision 0 is not a change
    [InlineData("etcd/full-x-000000012345-20261121T093015Z.db")]
    [InlineData("etcd/full-000000000000-000000012345-2026-11-21.db")]
    [InlineData("etcd/full-000000000000-000000012345-20261121T093015Z.db.enc-")]
    [InlineData("etcd/full-000000000000-99999999999999999999-20261121T093015Z.db")] // overflows a revision
    [InlineData("other/full-000000000000-000000012345-20261121T093015Z.db")]
    [InlineData("etcd/full-000000000000-000000012345-20261121T093015Z.delta")]
    public void TryParse_ForeignOrMalformed_IsNotASnapshot(string key)
    {
        Assert.False(SnapshotLayout.TryParse(key, out _));
    }

    [Fact]
    public void Full_CreatedAt_IsTruncatedToSecondsInUtc()
    {
        var local = new DateTimeOffset(2026, 11, 21, 10, 30, 15, 999, TimeSpan.FromHours(1));
        Assert.Equal(T, SnapshotName.Full(1, local, Compression.None).CreatedAt);
    }

    [Fact]
    public void CompareChainOrder_SortsByLastRevision_DeltaBeforeFullAtTheSameRevision()
    {
        var full10 = SnapshotName.Full(10, T, Compression.None);
        var delta11To20 = SnapshotName.Delta(11, 20, T, Compression.None);
        var full20 = SnapshotName.Full(20, T.AddHours(1), Compression.None);
        var delta21To30 = SnapshotName.Delta(21, 30, T, Compression.None);
        var list = new List<SnapshotName> { delta21To30, full20, delta11To20, full10 };

        list.Sort(SnapshotLayout.CompareChainOrder);

        Assert.Equal([full10, delta11To20, full20, delta21To30], list);
    }

    [Fact]
    public void Factories_InvalidRanges_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SnapshotName.Full(0, T, Compression.None));
        Assert.Throws<ArgumentOutOfRangeException>(() => SnapshotName.Delta(10, 9, T, Compression.None));
        Assert.Throws<ArgumentException>(() => SnapshotLayout.ToKey(SnapshotName.Full(1, T, Compression.None, "bad id")));
    }
}
