namespace Lifeboat.Core.Snapshots;

/// <summary>
/// The metadata every stored etcd snapshot carries in its object name. <see cref="SnapshotLayout"/> turns it into a
/// key and back; nothing else formats or parses snapshot keys.
/// </summary>
/// <param name="Kind">Full or delta.</param>
/// <param name="FirstRevision">
/// First etcd revision the snapshot covers. A full snapshot covers everything from the beginning, recorded as 0.
/// </param>
/// <param name="LastRevision">The etcd revision the snapshot really holds (full) or ends at (delta), inclusive.</param>
/// <param name="CreatedAt">When the snapshot was taken, in UTC, truncated to whole seconds.</param>
/// <param name="Compression">Compression of the stored bytes.</param>
/// <param name="EncryptionKeyId">Id of the key the bytes are encrypted with, or null when they are not encrypted.</param>
public sealed record SnapshotName(
    SnapshotKind Kind,
    long FirstRevision,
    long LastRevision,
    DateTimeOffset CreatedAt,
    Compression Compression,
    string? EncryptionKeyId = null)
{
    /// <summary>
    /// The etcd cluster the snapshot came from, or null in names written before Lifeboat recorded it. The name only
    /// says it so that listings can tell clusters apart cheaply; the file's content records it too, and that is what
    /// restores check.
    /// </summary>
    public ulong? ClusterId { get; init; }

    /// <summary>A full snapshot holding every key at <paramref name="revision"/>.</summary>
    public static SnapshotName Full(long revision, DateTimeOffset createdAt, Compression compression, string? encryptionKeyId = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(revision, 1);
        return new SnapshotName(SnapshotKind.Full, 0, revision, Truncate(createdAt), compression, encryptionKeyId);
    }

    /// <summary>A delta snapshot holding the changes of revisions <paramref name="first"/> to <paramref name="last"/>, inclusive.</summary>
    public static SnapshotName Delta(long first, long last, DateTimeOffset createdAt, Compression compression, string? encryptionKeyId = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(first, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(last, first);
        return new SnapshotName(SnapshotKind.Delta, first, last, Truncate(createdAt), compression, encryptionKeyId);
    }

    private static DateTimeOffset Truncate(DateTimeOffset t)
    {
        var utc = t.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }
}
