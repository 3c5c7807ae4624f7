using Google.Protobuf;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Tests.Restore;

/// <summary>
/// A seeded mix of what Kubernetes does to etcd: puts, deletes, range deletes, multi-op transactions, keys on leases
/// (some short enough to expire in the source during the test), lease revokes, and values near the 1.5 MiB limit.
/// </summary>
internal sealed class RandomWorkload(EtcdClient client, int seed)
{
    private const int Keys = 120;
    private readonly Random _random = new(seed);
    private readonly List<long> _leases = [];

    public long Operations { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await StepAsync(CancellationToken.None);
                Operations++;
            }
            catch (EtcdException ex) when (ex.Message.Contains("lease not found", StringComparison.Ordinal))
            {
                // A short lease expired between choosing it and using it: that is part of the workload.
            }
        }
    }

    private static ByteString Key(int i) => ByteString.CopyFromUtf8($"/w/{i % 4}/k{i:D3}");

    private ByteString Value()
    {
        var size = _random.Next(100) switch
        {
            0 => 1_400_000, // near etcd's 1.5 MiB request limit
            < 10 => _random.Next(10_000, 100_000),
            _ => _random.Next(1, 2000),
        };
        var bytes = new byte[size];
        _random.NextBytes(bytes);
        return ByteString.CopyFrom(bytes);
    }

    private async Task StepAsync(CancellationToken cancellationToken)
    {
        switch (_random.Next(100))
        {
            case < 45:
                await client.PutAsync(new PutRequest { Key = Key(_random.Next(Keys)), Value = Value() }, cancellationToken);
                break;
            case < 55:
                await client.DeleteRangeAsync(new DeleteRangeRequest { Key = Key(_random.Next(Keys)) }, cancellationToken);
                break;
            case < 58:
                var prefix = ByteString.CopyFromUtf8($"/w/{_random.Next(4)}/k0{_random.Next(10)}");
                await client.DeleteRangeAsync(new DeleteRangeRequest { Key = prefix, RangeEnd = EtcdClient.PrefixEnd(prefix) }, cancellationToken);
                break;
            case < 75:
                var txn = new TxnRequest();
                foreach (var k in Enumerable.Range(0, _random.Next(2, 6)).Select(_ => _random.Next(Keys)).Distinct())
                {
                    txn.Success.Add(_random.Next(4) == 0
                        ? new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = Key(k) } }
                        : new RequestOp { RequestPut = new PutRequest { Key = Key(k), Value = ByteString.CopyFromUtf8($"t{Operations}") } });
                }

                await client.TxnAsync(txn, cancellationToken);
                break;
            case < 80:
                var ttl = _random.Next(3) == 0 ? 2 : 3600;
                var grant = await client.LeaseGrantAsync(ttl, 0, cancellationToken);
                _leases.Add(grant.ID);
                break;
            case < 95 when _leases.Count > 0:
                var lease = _leases[_random.Next(_leases.Count)];
                await client.PutAsync(new PutRequest { Key = Key(_random.Next(Keys)), Value = ByteString.CopyFromUtf8("leased"), Lease = lease }, cancellationToken);
                break;
            case < 97 when _leases.Count > 0:
                var revoke = _leases[_random.Next(_leases.Count)];
                _leases.Remove(revoke);
                await client.LeaseRevokeAsync(revoke, cancellationToken);
                break;
            default:
                await client.PutAsync(new PutRequest { Key = Key(_random.Next(Keys)), Value = ByteString.CopyFromUtf8("small") }, cancellationToken);
                break;
        }
    }
}
