using System.Globalization;
using System.Runtime.CompilerServices;
using Lifeboat.Core.Codecs;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Etcd.Deltas.Format;
using Lifeboat.Etcd.Snapshots;

namespace Lifeboat.Etcd.Restore;

/// <summary>
/// Restores an etcd data directory from a store, with no etcd binary: the database of the plan's full snapshot with its
/// deltas' revisions written into it by Lifeboat itself, and the member's WAL and raft snapshot for the requested
/// membership (<see cref="MemberLayout"/>), as <c>etcdctl snapshot restore</c> would lay them out.
/// </summary>
/// <remarks>
/// Order of work, so that nothing is touched before everything is known to be good:
/// <list type="number">
/// <item>refuse a non-empty data directory without --force, and member flags etcd would refuse;</item>
/// <item>verify the full snapshot (its trailing SHA-256, decompressing on the way) and every delta the plan needs
/// (structure, contiguity, SHA-256), and that they belong together (<see cref="ChainIdentity"/>: one etcd cluster,
/// each delta continuing the file before it);</item>
/// <item>in a hidden sibling of the data directory: the member's WAL and raft snapshot, and the database at the
/// target — written in one streaming pass from the extracted snapshot (<see cref="RestoredDatabase"/>: the snapshot's
/// buckets copied, every revision appended as etcd stores it), or, without deltas, the extracted snapshot itself with
/// its consistent index set;</item>
/// <item>swap it into place (moving any previous contents aside), with every file and directory synced first.</item>
/// </list>
/// </remarks>
public sealed class EtcdRestorer(ISnapshotStore store, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<RestoreResult> RestoreAsync(RestorePlan plan, RestoreOptions options, IProgress<ReplayProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        var started = _time.GetTimestamp();
        var dataDir = Path.GetFullPath(options.DataDir);
        var nonEmpty = CheckDataDir(dataDir, options.Force);
        options.Member.Validate();
        var parent = Path.GetDirectoryName(dataDir) ?? throw new RestoreRefusedException($"{dataDir} has no parent directory", null);
        var debris = RemoveAbandoned(dataDir, options.ScratchDir);
        var replay = NeedsReplay(plan);
        // Without deltas the extracted database is the restored one: extracted beside the data directory, it is then
        // moved into the layout by a rename. With deltas it is only read, so it goes where reading is fastest.
        using var scratchDir = CreateScratch(options.ScratchDir ?? (replay || !Directory.Exists(parent) ? null : parent), dataDir, plan.Full.Stored.Size);
        var scratch = scratchDir.Path;
        var (fullDb, _, checks) = await VerifyAsync(plan, scratch, progress, cancellationToken);
        var warnings = debris.Select(d => $"removed {d}, left by a restore that was killed midway").Concat(checks).ToList();

        // Everything is verified: the member directory is written in a hidden sibling of the data directory, then
        // swapped into place.
        Directory.CreateDirectory(parent);
        var partial = Path.Combine(parent, $".{Path.GetFileName(dataDir)}{ScratchDirectory.PartialMarker}{Guid.NewGuid():N}");
        scratchDir.RecordPartial(partial);
        try
        {
            MemberLayout.CreatePrivateDirectory(partial);
            var layout = MemberLayout.Write(partial, options.Member);
            var database = MemberLayout.DatabasePath(partial);
            var consistentIndex = MemberLayout.ConsistentIndex(options.Member);
            var revision = plan.FullRevision;
            long revisions = 0;
            long changes = 0;
            var replayStarted = _time.GetTimestamp();
            if (replay)
            {
                (revision, revisions, changes) = await WriteDatabaseAsync(plan, fullDb, database, consistentIndex, progress, cancellationToken);
            }
            else if (RestoredDatabase.TrySetConsistentIndex(fullDb, consistentIndex))
            {
                MemberLayout.PlaceDatabase(partial, fullDb);
            }
            else
            {
                // A database without etcd's 8-byte consistent index (not one etcd wrote): rewritten with one.
                await WriteDatabaseAsync(plan, fullDb, database, consistentIndex, progress, cancellationToken);
            }

            MemberLayout.PlaceDatabase(partial, null);

            var replayDuration = _time.GetElapsedTime(replayStarted);
            progress?.Report(ReplayProgress.Step(RestorePhase.Layout));
            Core.IO.FileSync.Directory(Path.GetDirectoryName(database)!);
            Core.IO.FileSync.Directory(partial);
            var replaced = SwapIntoPlace(partial, dataDir, nonEmpty, options.AsideName);
            Core.IO.FileSync.Directory(parent);
            if (replaced is not null && options.DiscardPrevious)
            {
                Directory.Delete(replaced, recursive: true);
                replaced = null;
            }

            return new RestoreResult(dataDir, revision, plan.Full.Key, plan.Deltas.Count, revisions, changes, replayDuration,
                _time.GetElapsedTime(started), replaced)
            { Warnings = warnings, MemberId = layout.Member, ClusterId = layout.Cluster };
        }
        finally
        {
            if (Directory.Exists(partial))
            {
                Directory.Delete(partial, recursive: true);
            }
        }
    }

    /// <summary>
    /// Removes what restores killed midway left where a restore of <paramref name="dataDir"/> works (scratch
    /// directories, a half-laid-out member beside the data directory); never what a running restore, or anything but a
    /// restore, made. Restore, compact and init call it first.
    /// </summary>
    /// <returns>The paths removed.</returns>
    public static IReadOnlyList<string> RemoveAbandoned(string? dataDir, string? scratchDir)
    {
        var roots = new List<string> { "/dev/shm", Path.GetTempPath() };
        if (dataDir is not null && Path.GetDirectoryName(Path.GetFullPath(dataDir)) is { } parent)
        {
            roots.Add(parent);
        }

        if (scratchDir is not null)
        {
            roots.Add(scratchDir);
        }

        return ScratchDirectory.RemoveAbandoned(roots);
    }

    /// <summary>
    /// Whether a restore may write <paramref name="dataDir"/>: it must be missing or empty, or <paramref name="force"/>
    /// given, and not a file. Changes nothing; a restore and its dry run ask the same question.
    /// </summary>
    /// <returns>Whether the directory has contents (which a forced restore moves aside).</returns>
    /// <exception cref="RestoreRefusedException">A restore would be refused; the message says why and what to do.</exception>
    public static bool CheckDataDir(string dataDir, bool force)
    {
        var nonEmpty = Directory.Exists(dataDir) && Directory.EnumerateFileSystemEntries(dataDir).Any();
        if (nonEmpty && !force)
        {
            throw new RestoreRefusedException($"data directory {dataDir} is not empty",
                "restore into an empty or missing directory, or pass --force to replace it (its contents are moved aside, not deleted)");
        }

        if (File.Exists(dataDir))
        {
            throw new RestoreRefusedException($"{dataDir} is a file, not a directory", "pass a directory path as --data-dir");
        }

        return nonEmpty;
    }

    /// <summary>
    /// Compacts a chain: replays <paramref name="plan"/> in a scratch etcd and streams a full snapshot of the result into
    /// the store, at the plan's last revision, so that later restores replay few deltas. Nothing is deleted: retention
    /// decides when the older full snapshot and its deltas go.
    /// </summary>
    /// <returns>The new full snapshot, or null when the plan's full snapshot is already at its end.</returns>
    public async Task<FullSnapshotResult?> CompactAsync(RestorePlan plan, Compression compression, string? scratchDir, IProgress<ReplayProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (!NeedsReplay(plan))
        {
            return null;
        }

        RemoveAbandoned(null, scratchDir);
        using var owned = CreateScratch(scratchDir, Path.GetTempPath(), plan.Full.Stored.Size);
        var scratch = owned.Path;
        var (fullDb, identity, _) = await VerifyAsync(plan, scratch, progress, cancellationToken);
        var database = Path.Combine(scratch, "compacted.db");
        var (revision, _, _) = await WriteDatabaseAsync(plan, fullDb, database, null, progress, cancellationToken);
        // The written database is the snapshot: streamed to the store as any full snapshot is, with the chain's identity.
        progress?.Report(ReplayProgress.Step(RestorePhase.Layout));
        var result = await FullSnapshotter.StoreDatabaseAsync(store, database, compression, identity, _time, cancellationToken);
        return result.Name.LastRevision == revision
            ? result
            : throw new ReplayDivergedException($"the compacted snapshot holds revision {result.Name.LastRevision}, not the chain's {revision}");
    }

    /// <summary>Writes the database at the plan's target: the full snapshot's, with the deltas' revisions appended (<see cref="RestoredDatabase"/>).</summary>
    private async Task<(long Revision, long Revisions, long Changes)> WriteDatabaseAsync(RestorePlan plan, string fullDb, string database,
        long? consistentIndex, IProgress<ReplayProgress>? progress, CancellationToken cancellationToken)
    {
        progress?.Report(new ReplayProgress(0, 0, plan.StopAtRevision == long.MaxValue ? null : plan.StopAtRevision - plan.FullRevision));
        var outcome = await RestoredDatabase.WriteAsync(fullDb, database, ReadAllAsync(plan.Deltas, cancellationToken), plan.FullRevision,
            plan.StopAtRevision, plan.StopAtTime, consistentIndex, progress, cancellationToken);
        File.Delete(fullDb);
        return outcome;
    }

    private static bool NeedsReplay(RestorePlan plan) => plan.Deltas.Count > 0 && plan.StopAtRevision > plan.FullRevision;

    /// <summary>
    /// Checks the full snapshot (extracting it into the scratch directory) and every delta of the plan, and that they
    /// belong together.
    /// </summary>
    /// <returns>The extracted database, the chain's cluster and member (what a compaction records), and warnings about what could not be checked.</returns>
    private async Task<(string FullDb, (ulong ClusterId, ulong MemberId)? Identity, IReadOnlyList<string> Warnings)> VerifyAsync(RestorePlan plan,
        string scratch, IProgress<ReplayProgress>? progress, CancellationToken cancellationToken)
    {
        var identities = new List<FileIdentity>();
        // Deltas first: they are small, and a missing one, a damaged one or one whose key was not given is then
        // found before minutes go into extracting a large full snapshot.
        var deltaBytes = plan.Deltas.Sum(d => d.Stored.Size);
        long before = 0;
        progress?.Report(ReplayProgress.Reading(RestorePhase.Verify, 0, deltaBytes));
        foreach (var delta in plan.Deltas)
        {
            var done = before;
            await using var stream = await OpenAsync(delta, cancellationToken,
                progress is null ? null : read => progress.Report(ReplayProgress.Reading(RestorePhase.Verify, done + read, deltaBytes)));
            DeltaHeader header;
            byte[] sha;
            try
            {
                (header, _, _, sha) = await DeltaFile.VerifyAsync(stream, delta.Key, cancellationToken);
            }
            catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
            {
                // The codec found the compressed bytes cut short, extended or altered before the delta's own checks could.
                throw new IntegrityException($"delta {delta.Key} is unusable: its {delta.Name.Compression.ToString().ToLowerInvariant()} compression is corrupt ({ex.Message.TrimEnd('.')})",
                    "restore to a revision before it (--to-revision), or from a chain without it");
            }

            if (SnapshotVerifier.Misnamed(delta, header) is { } misnamed)
            {
                throw new IntegrityException($"delta {delta.Key} {misnamed} (a file put under another's name)",
                    "put the right file back under that name, or restore to a revision before it (--to-revision)");
            }

            identities.Add(ChainIdentity.Of(delta, header, sha));
            before += delta.Stored.Size;
        }

        // Links between deltas and clusters named in keys are known before minutes go into the full snapshot.
        var named = new FileIdentity(plan.Full, plan.Full.Name.ClusterId, null, null, []);
        if (ChainIdentity.Problems(named, identities, []) is { Count: > 0 } early)
        {
            throw ChainIdentity.Refusal(early);
        }

        var fullDb = Path.Combine(scratch, "full.db");
        var fullBytes = plan.Full.Stored.Size;
        progress?.Report(ReplayProgress.Reading(RestorePhase.Extract, 0, fullBytes));
        var full = await ExtractFullAsync(plan.Full, fullDb, progress is null ? null : read => progress.Report(ReplayProgress.Reading(RestorePhase.Extract, read, fullBytes)),
            cancellationToken);
        var outside = await OutsidePredecessorsAsync(full, identities, cancellationToken);
        if (ChainIdentity.Problems(full, identities, outside) is { Count: > 0 } problems)
        {
            throw ChainIdentity.Refusal(problems);
        }

        var cluster = full.ClusterId ?? identities.Select(d => d.ClusterId).FirstOrDefault(c => c is > 0);
        return (fullDb, cluster is { } c ? (c, full.MemberId ?? 0) : null, ChainIdentity.Unchecked(full, identities));
    }

    /// <summary>
    /// Hashes of the deltas outside the plan that end right before its first delta, read only when that delta does
    /// not continue the full snapshot itself (then it continues one of them, or it does not belong).
    /// </summary>
    private async Task<IReadOnlyCollection<byte[]>> OutsidePredecessorsAsync(FileIdentity full, List<FileIdentity> deltas,
        CancellationToken cancellationToken)
    {
        if (deltas.Count == 0 || deltas[0].PreviousSha256 is not { Length: > 0 } previous
            || (full.Snapshot.Name.LastRevision == deltas[0].Snapshot.Name.FirstRevision - 1 && previous.AsSpan().SequenceEqual(full.Sha256)))
        {
            return [];
        }

        var end = deltas[0].Snapshot.Name.FirstRevision - 1;
        var hashes = new List<byte[]>();
        foreach (var candidate in (await SnapshotCatalog.ListAsync(store, cancellationToken)).Where(s => s.Name.Kind == SnapshotKind.Delta && s.Name.LastRevision == end))
        {
            try
            {
                hashes.Add((await ChainIdentity.ReadAsync(store, candidate, cancellationToken)).Sha256);
            }
            catch (LifeboatException)
            {
                // a damaged or unreadable neighbour proves nothing either way
            }
        }

        return hashes;
    }

    /// <summary>Every record of the deltas, in order (already verified).</summary>
    private async IAsyncEnumerable<RevisionRecord> ReadAllAsync(IReadOnlyList<StoredSnapshot> deltas, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var delta in deltas)
        {
            await using var stream = await OpenAsync(delta, cancellationToken);
            await foreach (var record in DeltaFile.ReadAsync(stream, delta.Key, null, cancellationToken))
            {
                yield return record;
            }
        }
    }

    /// <param name="read">Told the stored bytes read so far, for progress.</param>
    private async Task<Stream> OpenAsync(StoredSnapshot snapshot, CancellationToken cancellationToken, Action<long>? read = null)
    {
        SnapshotCodec.ThrowIfUnavailable(snapshot.Name.Compression);
        var stream = await store.OpenReadAsync(snapshot.Key, cancellationToken);
        long total = 0;
        return SnapshotCodec.Decompressing(read is null ? stream : new ObservingReadStream(stream, bytes => read(total += bytes.Length)), snapshot.Name.Compression);
    }

    /// <summary>Decompresses the full snapshot's database to <paramref name="path"/>, checking the SHA-256 the file ends with.</summary>
    private async Task<FileIdentity> ExtractFullAsync(StoredSnapshot full, string path, Action<long>? storedBytesRead, CancellationToken cancellationToken)
    {
        await using var input = await OpenAsync(full, cancellationToken, storedBytesRead);
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0);
        await using var output = new Core.IO.WritebackStream(file);
        FullSnapshotReader.Result result;
        try
        {
            result = await FullSnapshotReader.ReadAsync(input, bytes => output.WriteAsync(bytes, cancellationToken), cancellationToken);
        }
        catch (InvalidDataException ex)
        {
            throw new IntegrityException($"full snapshot {full.Key} is unusable: its compression is corrupt ({ex.Message})",
                "restore from another full snapshot (--to-revision or --to-time before it)");
        }

        if (!result.HashMatches)
        {
            throw new IntegrityException($"full snapshot {full.Key} is unusable: its SHA-256 does not match (truncated or corrupted)",
                "restore from another full snapshot (--to-revision or --to-time before it)");
        }

        if (result.Identity is { } identity && identity.Revision != full.Name.LastRevision)
        {
            throw new IntegrityException($"full snapshot {full.Key} records revision {identity.Revision}, not the {full.Name.LastRevision} its name says (a file put under another's name)",
                "put the right file back under that name, or restore from another full snapshot");
        }

        return ChainIdentity.Of(full, result);
    }

    private ScratchDirectory CreateScratch(string? requested, string dataDir, long fullSize)
    {
        string root;
        if (requested is not null)
        {
            root = requested;
        }
        else
        {
            // Replay writes the database about twice over; tmpfs makes its fsyncs free.
            var shm = new DirectoryInfo("/dev/shm");
            root = shm.Exists && new DriveInfo(shm.FullName).AvailableFreeSpace > (fullSize * 4) + (1L << 30)
                ? shm.FullName
                : Path.GetDirectoryName(dataDir) ?? Path.GetTempPath();
        }

        return ScratchDirectory.Create(root, "restore", _time.GetUtcNow());
    }

    private string? SwapIntoPlace(string partial, string dataDir, bool nonEmpty, string asideName)
    {
        string? replaced = null;
        if (nonEmpty)
        {
            replaced = $"{dataDir}.{asideName}-{_time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}";
            Directory.Move(dataDir, replaced);
        }
        else if (Directory.Exists(dataDir))
        {
            Directory.Delete(dataDir); // empty
        }

        Directory.Move(partial, dataDir);
        return replaced;
    }
}
