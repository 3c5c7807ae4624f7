using Google.Protobuf;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Testing;

/// <summary>Writes test data into etcd quickly: many puts per transaction, several transactions in flight.</summary>
public static class EtcdLoad
{
    /// <summary>Puts keys <c>{prefix}{i:D8}</c> for i in [0, count) with values of <paramref name="valueSize"/> bytes.</summary>
    /// <returns>The revision after the last write.</returns>
    public static async Task<long> PutManyAsync(EtcdClient client, string prefix, int count, int valueSize, int opsPerTxn = 128,
        int parallel = 4, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        // Values are slices of a random pool at varying offsets: they differ from key to key, so compression gets no
        // unrealistic free ride from identical values.
        var pool = new byte[Math.Max(1 << 20, valueSize * 2)];
        Random.Shared.NextBytes(pool);
        var next = 0;
        long revision = 0;
        var workers = Enumerable.Range(0, parallel).Select(async _ =>
        {
            while (true)
            {
                var start = Interlocked.Add(ref next, opsPerTxn) - opsPerTxn;
                if (start >= count)
                {
                    return;
                }

                var txn = new TxnRequest();
                for (var i = start; i < Math.Min(count, start + opsPerTxn); i++)
                {
                    var offset = (int)((uint)(i * 2654435761u) % (uint)(pool.Length - valueSize + 1));
                    txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8($"{prefix}{i:D8}"), Value = ByteString.CopyFrom(pool, offset, valueSize) } });
                }

                var response = await client.TxnAsync(txn, cancellationToken);
                InterlockedMax(ref revision, response.Header.Revision);
            }
        });
        await Task.WhenAll(workers);
        return revision;
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
