using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Protocol;

namespace Lifeboat.Etcd.Restore;

/// <summary>
/// Keeps every lease of the replay etcd alive until disposed. A lease that expired there mid-replay would delete its
/// keys in a transaction of etcd's own, shifting every revision after it (etcd-backup-restore #1045, #1046); deletions
/// caused by leases that expired in the source are replayed from the deltas instead, at their own revisions.
/// </summary>
/// <remarks>One background loop; <see cref="Track"/> is thread-safe. Refreshes every 500 ms, well inside etcd's minimum TTL.</remarks>
internal sealed class LeaseKeeper : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);
    private readonly EtcdClient _client;
    private readonly HashSet<long> _leases = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly TimeProvider _time;

    public LeaseKeeper(EtcdClient client, IEnumerable<long> leases, TimeProvider time)
    {
        _client = client;
        _time = time;
        _leases.UnionWith(leases);
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public void Track(long lease)
    {
        lock (_leases)
        {
            _leases.Add(lease);
        }
    }

    public bool IsKnown(long lease)
    {
        lock (_leases)
        {
            return _leases.Contains(lease);
        }
    }

    /// <summary>Fails when keepalives stopped working, which would make the replay unsafe.</summary>
    public void ThrowIfFailed()
    {
        if (_loop.IsFaulted)
        {
            throw new ReplayDivergedException($"lease keepalives on the replay etcd failed: {_loop.Exception?.GetBaseException().Message}");
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        await using var stream = await _client.LeaseKeepAliveAsync(0, cancellationToken);
        var reader = Task.Run(async () =>
        {
            await foreach (var _ in stream.ReadAllAsync(cancellationToken))
            {
            }
        }, cancellationToken);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                long[] leases;
                lock (_leases)
                {
                    leases = [.. _leases];
                }

                foreach (var id in leases)
                {
                    await stream.WriteAsync(new LeaseKeepAliveRequest { ID = id }, cancellationToken);
                }

                await Task.Delay(Interval, _time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        try
        {
            await reader;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (EtcdException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or EtcdException)
        {
        }

        _stop.Dispose();
    }
}
