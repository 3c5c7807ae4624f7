using Lifeboat.Core.Snapshots;
using Lifeboat.Etcd.Deltas;

namespace Lifeboat.Cli.Hosting;

/// <summary>The newest full snapshot: what both a snapshot just taken and one found in the store can say truthfully.</summary>
internal sealed record LatestFull(string Key, SnapshotName Name, long StoredBytes);

/// <summary>What the sidecar has done, for the HTTP API and metrics. Written by the sidecar's loops, read by requests.</summary>
internal sealed class SidecarState(TimeProvider time)
{
    private readonly Lock _lock = new();
    private long _chainReach;
    private long _etcdRevision;
    private DateTimeOffset? _behindSince;

    public LatestFull? LastFull { get; private set; }

    public DateTimeOffset? LastFullAt { get; private set; }

    public StoredDelta? LastDelta { get; private set; }

    public DateTimeOffset? LastDeltaAt { get; private set; }

    public string? LastError { get; private set; }

    public long ChainReach => Interlocked.Read(ref _chainReach);

    public long EtcdRevision => Interlocked.Read(ref _etcdRevision);

    public void Full(LatestFull full, DateTimeOffset at)
    {
        lock (_lock)
        {
            LastFull = full;
            LastFullAt = at;
        }
    }

    public void Delta(StoredDelta delta, DateTimeOffset at)
    {
        lock (_lock)
        {
            LastDelta = delta;
            LastDeltaAt = at;
        }

        Reach(delta.Name.LastRevision);
    }

    public void Reach(long revision)
    {
        long current;
        while ((current = Interlocked.Read(ref _chainReach)) < revision && Interlocked.CompareExchange(ref _chainReach, revision, current) != current)
        {
        }

        Compare();
    }

    public void ResetReach(long revision)
    {
        Interlocked.Exchange(ref _chainReach, revision);
        Compare();
    }

    public void Etcd(long revision)
    {
        Interlocked.Exchange(ref _etcdRevision, revision);
        Compare();
    }

    /// <summary>
    /// How long the store has lacked changes etcd holds: zero while the chain reaches etcd's revision, however long ago
    /// the last snapshot was (an idle etcd is fully backed up), else the time since it first fell behind.
    /// </summary>
    public TimeSpan Behind
    {
        get
        {
            lock (_lock)
            {
                return _behindSince is { } since ? time.GetUtcNow() - since : TimeSpan.Zero;
            }
        }
    }

    private void Compare()
    {
        lock (_lock)
        {
            // Read under the lock: a caller holding older values must not overwrite a newer caller's verdict.
            _behindSince = ChainReach < EtcdRevision ? _behindSince ?? time.GetUtcNow() : null;
        }
    }

    public void Error(string? message) => LastError = message;

    /// <summary>Whether this sidecar's member is etcd's leader, and so the one writing snapshots.</summary>
    public bool IsLeader { get; private set; }

    /// <summary>Whether the sidecar has asked etcd yet if its member leads: until then it cannot say it is ready.</summary>
    public bool LeadershipKnown { get; private set; }

    public void Leader(bool isLeader)
    {
        IsLeader = isLeader;
        LeadershipKnown = true;
    }
}
