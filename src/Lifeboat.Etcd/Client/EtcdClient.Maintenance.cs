using System.Runtime.CompilerServices;
using Lifeboat.Etcd.Protocol;
using Lifeboat.Etcd.Snapshots;

namespace Lifeboat.Etcd.Client;

public sealed partial class EtcdClient
{
    /// <summary>Status of one member (the current endpoint when <paramref name="endpoint"/> is null).</summary>
    public Task<StatusResponse> StatusAsync(Uri? endpoint, CancellationToken cancellationToken) =>
        _transport.UnaryAsync("/etcdserverpb.Maintenance/Status", new StatusRequest(), StatusResponse.Parser, null, endpoint, cancellationToken);

    /// <summary>Defragments one member's database; can take minutes on a large database, hence its own deadline.</summary>
    public Task<DefragmentResponse> DefragmentAsync(Uri? endpoint, TimeSpan timeout, CancellationToken cancellationToken) =>
        _transport.UnaryAsync("/etcdserverpb.Maintenance/Defragment", new DefragmentRequest(), DefragmentResponse.Parser, timeout, endpoint, cancellationToken);

    /// <summary>Hash of the MVCC keys up to <paramref name="revision"/> (0 = latest) on one member; equal across healthy members.</summary>
    public Task<HashKVResponse> HashKVAsync(long revision, Uri? endpoint, CancellationToken cancellationToken) =>
        _transport.UnaryAsync("/etcdserverpb.Maintenance/HashKV", new HashKVRequest { Revision = revision }, HashKVResponse.Parser,
            TimeSpan.FromMinutes(5), endpoint, cancellationToken);

    /// <summary>
    /// Streams a member's database: chunks whose <c>remaining_bytes</c> count down to 0, then one message holding the
    /// 32-byte SHA-256 of everything before it. No deadline: a large database takes as long as it takes; cancel to stop.
    /// </summary>
    public IAsyncEnumerable<SnapshotResponse> SnapshotAsync(Uri? endpoint, CancellationToken cancellationToken) =>
        _transport.ServerStreamingAsync("/etcdserverpb.Maintenance/Snapshot", new SnapshotRequest(), SnapshotResponse.Parser, endpoint, cancellationToken);

    /// <summary>
    /// The same stream as <see cref="SnapshotAsync"/>, decoded without copying: each chunk's blob is valid only until
    /// the next iteration. This is what full snapshots use.
    /// </summary>
    public async IAsyncEnumerable<SnapshotChunk> SnapshotChunksAsync(Uri? endpoint, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var message in _transport.ServerStreamingRawAsync("/etcdserverpb.Maintenance/Snapshot", new SnapshotRequest(), endpoint, cancellationToken))
        {
            yield return SnapshotChunk.Decode(message);
        }
    }
}
