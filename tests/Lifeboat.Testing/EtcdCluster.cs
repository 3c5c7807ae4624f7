using System.Globalization;

namespace Lifeboat.Testing;

/// <summary>A real multi-member etcd on loopback (one process and data directory per member).</summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    private EtcdCluster(IReadOnlyList<EtcdServer> members)
    {
        Members = members;
    }

    public IReadOnlyList<EtcdServer> Members { get; }

    public static async Task<EtcdCluster> StartAsync(int size)
    {
        var ports = Enumerable.Range(0, size).Select(_ => (Client: LoopbackPorts.Next(), Peer: LoopbackPorts.Next())).ToList();
        var names = Enumerable.Range(0, size).Select(i => $"m{i.ToString(CultureInfo.InvariantCulture)}").ToList();
        var initial = string.Join(',', names.Select((n, i) => $"{n}=http://127.0.0.1:{ports[i].Peer}"));
        var token = $"c-{Guid.NewGuid():N}";
        var starts = names.Select((n, i) => EtcdServer.StartMemberAsync(n, ports[i].Client, ports[i].Peer, initial, token)).ToList();
        try
        {
            return new EtcdCluster(await Task.WhenAll(starts));
        }
        catch
        {
            foreach (var s in starts.Where(t => t.IsCompletedSuccessfully))
            {
                await (await s).DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>The member that is raft leader now, after waiting for one to be elected.</summary>
    public async Task<EtcdServer> LeaderAsync(IEnumerable<EtcdServer>? among = null)
    {
        var candidates = (among ?? Members).ToList();
        return await Eventually.SucceedsAsync(async ct =>
        {
            foreach (var m in candidates)
            {
                using var client = m.CreateClient(commandTimeout: TimeSpan.FromSeconds(2));
                try
                {
                    var status = await client.StatusAsync(null, ct);
                    if (status.Leader != 0 && status.Leader == status.Header.MemberId)
                    {
                        return m;
                    }
                }
                catch (Lifeboat.Etcd.EtcdException)
                {
                }
            }

            throw new InvalidOperationException("no leader yet");
        }, TimeSpan.FromSeconds(30), "a leader to be elected");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var m in Members)
        {
            await m.DisposeAsync();
        }
    }
}
