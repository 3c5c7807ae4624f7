using System.Buffers;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Lifeboat.Etcd.Protocol;
using Lifeboat.Etcd.Snapshots;

namespace Lifeboat.Etcd.Client;

public sealed partial class EtcdClient
{
    private const string SnapshotMethodName = "/etcdserverpb.Maintenance/Snapshot";

    /// <summary>
    /// etcd's Snapshot call with a marshaller that hands each response over undecoded, in a buffer from the shared
    /// pool: grpc-dotnet returns its own read buffer as soon as the deserializer returns, so the bytes are copied once,
    /// into a buffer that is given back when the consumer moves on, instead of into a new ByteString per 32 KiB chunk.
    /// </summary>
    private static readonly Method<SnapshotRequest, PooledMessage> RawSnapshot = new(MethodType.ServerStreaming, "etcdserverpb.Maintenance",
        "Snapshot", Marshallers.Create<SnapshotRequest>(r => r.ToByteArray(), SnapshotRequest.Parser.ParseFrom),
        Marshallers.Create<PooledMessage>((_, _) => throw new NotSupportedException("responses are not sent"), PooledMessage.Copy));

    /// <summary>Status of one member (the current endpoint when <paramref name="endpoint"/> is null).</summary>
    public Task<StatusResponse> StatusAsync(Uri? endpoint, CancellationToken cancellationToken) =>
        _connection.UnaryAsync("/etcdserverpb.Maintenance/Status",
            (invoker, options) => new Maintenance.MaintenanceClient(invoker).StatusAsync(new StatusRequest(), options), null, endpoint, cancellationToken);

    /// <summary>Defragments one member's database; can take minutes on a large database, hence its own deadline.</summary>
    public Task<DefragmentResponse> DefragmentAsync(Uri? endpoint, TimeSpan timeout, CancellationToken cancellationToken) =>
        _connection.UnaryAsync("/etcdserverpb.Maintenance/Defragment",
            (invoker, options) => new Maintenance.MaintenanceClient(invoker).DefragmentAsync(new DefragmentRequest(), options), timeout, endpoint,
            cancellationToken);

    /// <summary>Hash of the MVCC keys up to <paramref name="revision"/> (0 = latest) on one member; equal across healthy members.</summary>
    public Task<HashKVResponse> HashKVAsync(long revision, Uri? endpoint, CancellationToken cancellationToken) =>
        _connection.UnaryAsync("/etcdserverpb.Maintenance/HashKV",
            (invoker, options) => new Maintenance.MaintenanceClient(invoker).HashKVAsync(new HashKVRequest { Revision = revision }, options),
            TimeSpan.FromMinutes(5), endpoint, cancellationToken);

    /// <summary>
    /// Streams a member's database: chunks whose <c>remaining_bytes</c> count down to 0, then one message holding the
    /// 32-byte SHA-256 of everything before it. No deadline: a large database takes as long as it takes; cancel to stop.
    /// </summary>
    public async IAsyncEnumerable<SnapshotResponse> SnapshotAsync(Uri? endpoint, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stream = await _connection.ServerStreamingAsync(SnapshotMethodName,
            (invoker, options) => new Maintenance.MaintenanceClient(invoker).Snapshot(new SnapshotRequest(), options), endpoint, cancellationToken);
        while (await stream.MoveNextAsync(cancellationToken))
        {
            yield return stream.Current;
        }
    }

    /// <summary>
    /// The same stream as <see cref="SnapshotAsync"/>, decoded without a copy per chunk: each chunk's blob is valid only
    /// until the next iteration. This is what full snapshots use.
    /// </summary>
    public async IAsyncEnumerable<SnapshotChunk> SnapshotChunksAsync(Uri? endpoint, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stream = await _connection.ServerStreamingAsync(SnapshotMethodName,
            (invoker, options) => invoker.AsyncServerStreamingCall(RawSnapshot, null, options, new SnapshotRequest()), endpoint, cancellationToken);
        while (await stream.MoveNextAsync(cancellationToken))
        {
            var message = stream.Current;
            try
            {
                yield return SnapshotChunk.Decode(message.Bytes);
            }
            finally
            {
                message.Return();
            }
        }
    }

    /// <summary>One response's bytes in a buffer rented from <see cref="ArrayPool{T}.Shared"/>.</summary>
    private sealed class PooledMessage(byte[] buffer, int length)
    {
        public ReadOnlyMemory<byte> Bytes => buffer.AsMemory(0, length);

        public static PooledMessage Copy(DeserializationContext context)
        {
            var payload = context.PayloadAsReadOnlySequence();
            var buffer = ArrayPool<byte>.Shared.Rent((int)payload.Length);
            payload.CopyTo(buffer);
            return new PooledMessage(buffer, (int)payload.Length);
        }

        public void Return() => ArrayPool<byte>.Shared.Return(buffer);
    }
}
