using Lifeboat.Core.Snapshots;

namespace Lifeboat.Etcd.Snapshots;

/// <summary>A full snapshot that was verified and committed to the store.</summary>
/// <param name="Key">Store key of the snapshot.</param>
/// <param name="Name">Metadata carried by the key; <see cref="SnapshotName.LastRevision"/> is the revision the snapshot holds.</param>
/// <param name="StoredBytes">Bytes stored (after compression).</param>
/// <param name="DatabaseBytes">Size of etcd's database as streamed, without the trailing hash.</param>
/// <param name="DatabaseSha256">SHA-256 of the database, hex; equal to the hash etcd sent with it.</param>
/// <param name="RevisionBeforeStream">etcd's revision read just before the stream began: a lower bound, for comparison.</param>
/// <param name="Endpoint">The member the snapshot was streamed from.</param>
/// <param name="Duration">Wall time from the status check to the commit.</param>
public sealed record FullSnapshotResult(
    string Key,
    SnapshotName Name,
    long StoredBytes,
    long DatabaseBytes,
    string DatabaseSha256,
    long RevisionBeforeStream,
    string Endpoint,
    TimeSpan Duration)
{
    /// <summary>The SHA-256 the file ends with (over the database and the identity block): what the next delta links to.</summary>
    public byte[] Sha256 { get; init; } = [];

    /// <summary>The member recorded as having sent it.</summary>
    public ulong MemberId { get; init; }
}
