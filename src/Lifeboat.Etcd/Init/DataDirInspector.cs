using Lifeboat.Core.Errors;
using Lifeboat.Etcd.Bolt;
using Lifeboat.Etcd.Restore;

namespace Lifeboat.Etcd.Init;

/// <summary>
/// Examines an etcd data directory without changing it: structure (<c>member/wal</c> with a WAL file,
/// <c>member/snap/db</c>), membership (the WAL's member and cluster ids against the flags), and the bbolt database
/// (read whole: meta pages, etcd's buckets, its revision; then every reachable page, the freelist and every value of
/// the key bucket, <see cref="BoltChecker"/>). <see cref="ProveAsync"/> goes further and starts etcd on a
/// copy.
/// </summary>
public static class DataDirInspector
{
    /// <param name="expected">The flags etcd will be started with; null skips the membership check.</param>
    /// <param name="checkIds">
    /// False for a member that joined a running cluster (<c>--initial-cluster-state existing</c>): its id includes the
    /// time it was added and cannot be derived from flags.
    /// </param>
    public static async Task<DataDirReport> InspectAsync(string dataDir, MemberFlags? expected, bool checkIds, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDir);
        if (File.Exists(dataDir))
        {
            return new DataDirReport(DataDirCondition.MemberBroken, $"{dataDir} is a file, not a directory");
        }

        if (!Directory.Exists(dataDir))
        {
            return new DataDirReport(DataDirCondition.Missing, $"{dataDir} does not exist");
        }

        if (!Directory.EnumerateFileSystemEntries(dataDir).Any())
        {
            return new DataDirReport(DataDirCondition.Empty, $"{dataDir} is empty");
        }

        var member = Path.Combine(dataDir, "member");
        var wal = Path.Combine(member, "wal");
        var snap = Path.Combine(member, "snap");
        var db = Path.Combine(snap, "db");
        if (!Directory.Exists(member))
        {
            return new DataDirReport(DataDirCondition.MemberBroken, $"{dataDir} has no member directory");
        }

        if (!Directory.Exists(wal) || !Directory.EnumerateFiles(wal, "*.wal").Any())
        {
            return new DataDirReport(DataDirCondition.MemberBroken, $"{wal} is missing or holds no WAL file");
        }

        if (!Directory.Exists(snap))
        {
            return new DataDirReport(DataDirCondition.MemberBroken, $"{snap} is missing");
        }

        if (!File.Exists(db))
        {
            return new DataDirReport(DataDirCondition.DatabaseDamaged, $"{db} is missing");
        }

        ulong memberId, clusterId;
        try
        {
            (memberId, clusterId) = WalMetadataReader.Read(wal);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or Google.Protobuf.InvalidProtocolBufferException or IOException)
        {
            return new DataDirReport(DataDirCondition.MemberBroken, $"the WAL in {wal} is unreadable ({ex.Message})");
        }

        if (expected is not null && checkIds && Mismatch(expected, memberId, clusterId) is { } mismatch)
        {
            return new DataDirReport(DataDirCondition.MemberMismatch, mismatch, null, memberId, clusterId);
        }

        BoltRevision revision;
        try
        {
            revision = await ScanAsync(db, cancellationToken);
        }
        catch (IntegrityException ex)
        {
            return new DataDirReport(DataDirCondition.DatabaseDamaged, $"{db} is damaged: {ex.Message}", null, memberId, clusterId);
        }

        // The scan found the revision; now every page etcd could read, and every value of its key bucket.
        if (BoltChecker.Check(db, cancellationToken) is { } damage)
        {
            return new DataDirReport(DataDirCondition.DatabaseDamaged, $"{db} is damaged: {damage}", null, memberId, clusterId);
        }

        return new DataDirReport(DataDirCondition.Healthy, $"healthy at revision {revision.Revision}", revision.Revision, memberId, clusterId);
    }

    /// <summary>
    /// Proves a directory that looks healthy: copies it to <paramref name="scratch"/>, starts etcd on the copy alone
    /// (<c>--force-new-cluster</c>, loopback), and reads Status and HashKV. The revision is then the one etcd serves,
    /// after it replayed its WAL. The original is never opened by etcd.
    /// </summary>
    public static async Task<DataDirReport> ProveAsync(string dataDir, DataDirReport sane, EtcdTools tools, string scratch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sane);
        ArgumentNullException.ThrowIfNull(tools);
        var copy = Path.Combine(scratch, "prove");
        CopyDirectory(dataDir, copy);
        try
        {
            await using var etcd = await tools.StartTemporaryAsync(copy, "lifeboat-prove", cancellationToken, "--force-new-cluster");
            using var client = etcd.CreateClient();
            var status = await client.StatusAsync(null, cancellationToken);
            await client.HashKVAsync(0, null, cancellationToken);
            await etcd.StopAsync(cancellationToken);
            return sane with
            {
                Revision = status.Header.Revision,
                Reason = $"healthy at revision {status.Header.Revision} (etcd started on a copy and answered Status and HashKV)",
                Proved = true,
            };
        }
        catch (RestoreRefusedException ex)
        {
            return sane with { Condition = DataDirCondition.DatabaseDamaged, Reason = $"etcd refuses to start on {dataDir}: {ex.Message}" };
        }
        catch (EtcdException ex)
        {
            return sane with { Condition = DataDirCondition.DatabaseDamaged, Reason = $"etcd started on {dataDir} but fails: {ex.Message}" };
        }
        finally
        {
            if (Directory.Exists(copy))
            {
                Directory.Delete(copy, recursive: true);
            }
        }
    }

    private static string? Mismatch(MemberFlags expected, ulong memberId, ulong clusterId)
    {
        var (wantMember, wantCluster) = MemberIdentity.FromFlags(expected);
        var have = $"the data directory belongs to member {MemberIdentity.Format(memberId)} of cluster {MemberIdentity.Format(clusterId)}";
        if (wantMember != memberId)
        {
            var owner = expected.Members()
                .FirstOrDefault(m => MemberIdentity.MemberId(m.Value, expected.InitialClusterToken) == memberId).Key;
            return owner is not null
                ? $"--name {expected.Name} does not match: {have}, which is '{owner}' in --initial-cluster"
                : $"--initial-advertise-peer-urls ({expected.InitialAdvertisePeerUrls}) or --initial-cluster-token ({expected.InitialClusterToken}) " +
                  $"does not match: they give member {MemberIdentity.Format(wantMember)}, but {have}";
        }

        return wantCluster != clusterId
            ? $"--initial-cluster does not match: it gives cluster {MemberIdentity.Format(wantCluster)}, but {have} (the members or their URLs differ)"
            : null;
    }

    private static async Task<BoltRevision> ScanAsync(string db, CancellationToken cancellationToken)
    {
        var scanner = new BoltRevisionScanner();
        await using var stream = new FileStream(db, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0, FileOptions.SequentialScan | FileOptions.Asynchronous);
        var buffer = new byte[1 << 20];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            scanner.Append(buffer.AsSpan(0, read));
        }

        return scanner.Complete();
    }

    /// <summary>Copies a directory tree (files and empty directories).</summary>
    internal static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        }

        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }
}
