using Google.Protobuf;
using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Client;

public sealed partial class EtcdClient
{
    public Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancellationToken) =>
        _connection.UnaryAsync("/etcdserverpb.KV/Range", (invoker, options) => new KV.KVClient(invoker).RangeAsync(request, options), null, null, cancellationToken);

    /// <summary>Reads one key (or none) at the latest revision.</summary>
    public Task<RangeResponse> GetAsync(string key, CancellationToken cancellationToken) =>
        RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(key) }, cancellationToken);

    public Task<PutResponse> PutAsync(PutRequest request, CancellationToken cancellationToken) =>
        _connection.UnaryAsync("/etcdserverpb.KV/Put", (invoker, options) => new KV.KVClient(invoker).PutAsync(request, options), null, null, cancellationToken);

    public Task<PutResponse> PutAsync(string key, string value, CancellationToken cancellationToken) =>
        PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value) }, cancellationToken);

    public Task<DeleteRangeResponse> DeleteRangeAsync(DeleteRangeRequest request, CancellationToken cancellationToken) =>
        _connection.UnaryAsync("/etcdserverpb.KV/DeleteRange", (invoker, options) => new KV.KVClient(invoker).DeleteRangeAsync(request, options), null, null,
            cancellationToken);

    public Task<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancellationToken) =>
        _connection.UnaryAsync("/etcdserverpb.KV/Txn", (invoker, options) => new KV.KVClient(invoker).TxnAsync(request, options), null, null, cancellationToken);

    /// <summary>Compacts history before <paramref name="revision"/>; <paramref name="physical"/> waits until it is applied.</summary>
    public Task<CompactionResponse> CompactAsync(long revision, bool physical, CancellationToken cancellationToken) =>
        _connection.UnaryAsync("/etcdserverpb.KV/Compact",
            (invoker, options) => new KV.KVClient(invoker).CompactAsync(new CompactionRequest { Revision = revision, Physical = physical }, options),
            null, null, cancellationToken);

    /// <summary>The key just after every key starting with <paramref name="prefix"/>: etcd's range_end for a prefix.</summary>
    public static ByteString PrefixEnd(ByteString prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var bytes = prefix.ToByteArray();
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i] < 0xFF)
            {
                bytes[i]++;
                return ByteString.CopyFrom(bytes, 0, i + 1);
            }
        }

        return ByteString.CopyFrom(0); // no upper bound: every key from the prefix on
    }
}
