using System.Globalization;
using System.Security.Cryptography;
using Lifeboat.Core.Codecs;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd.Deltas;

namespace Lifeboat.Etcd.Snapshots;

/// <summary>What a snapshot file says about where it came from, read from its content (not its name).</summary>
/// <param name="ClusterId">The etcd cluster; null for a full snapshot written before Lifeboat recorded it.</param>
/// <param name="PreviousSha256">Deltas: the hash of the file they continue; null when not recorded.</param>
/// <param name="Sha256">The SHA-256 the file ends with.</param>
public sealed record FileIdentity(StoredSnapshot Snapshot, ulong? ClusterId, ulong? MemberId, byte[]? PreviousSha256, byte[] Sha256)
{
    public string Key => Snapshot.Key;
}

/// <summary>
/// Whether the files of a chain belong together: every file from the same etcd cluster as its full snapshot (and as
/// its own name says), and every delta continuing the file before it (its recorded previous hash is that file's
/// hash). Restore, compact, init and verify ask the same question here.
/// </summary>
public static class ChainIdentity
{
    /// <summary>What does not belong, one problem per file, naming the file and where it came from; empty when the chain is whole.</summary>
    /// <param name="full">The chain's full snapshot; with an empty <see cref="FileIdentity.Sha256"/> when not read yet (links to it are then not checked).</param>
    /// <param name="deltas">The chain's deltas, in order.</param>
    /// <param name="outsidePredecessors">
    /// Hashes of other files that end right before the first delta (the delta it may continue, outside the chain);
    /// when none are known, the first delta's link is not checked.
    /// </param>
    public static IReadOnlyList<string> Problems(FileIdentity full, IReadOnlyList<FileIdentity> deltas, IReadOnlyCollection<byte[]> outsidePredecessors)
    {
        ArgumentNullException.ThrowIfNull(full);
        ArgumentNullException.ThrowIfNull(deltas);
        ArgumentNullException.ThrowIfNull(outsidePredecessors);
        var problems = new List<string>();
        var cluster = full.ClusterId ?? deltas.Select(d => d.ClusterId).FirstOrDefault(c => c is > 0);
        var clusterSource = full.ClusterId is null ? deltas.FirstOrDefault(d => d.ClusterId is > 0)?.Key : full.Key;
        foreach (var file in deltas.Prepend(full))
        {
            if (Misnamed(file) is { } misnamed)
            {
                problems.Add(misnamed);
            }
            else if (file.ClusterId is > 0 && cluster is { } expected && file.ClusterId != expected)
            {
                problems.Add($"{file.Key} comes from etcd cluster {Hex(file.ClusterId.Value)}, not from cluster {Hex(expected)} of {clusterSource}");
            }
        }

        FileIdentity? before = null;
        foreach (var delta in deltas)
        {
            if (delta.PreviousSha256 is { Length: > 0 } previous)
            {
                if (before is not null && before.Snapshot.Name.LastRevision == delta.Snapshot.Name.FirstRevision - 1)
                {
                    if (!CryptographicOperations.FixedTimeEquals(previous, before.Sha256))
                    {
                        problems.Add($"{delta.Key} does not continue {before.Key}: it was written after another file (a different chain of revisions)");
                    }
                }
                else if (before is null)
                {
                    var candidates = full.Sha256.Length > 0 && full.Snapshot.Name.LastRevision == delta.Snapshot.Name.FirstRevision - 1
                        ? outsidePredecessors.Append(full.Sha256).ToList()
                        : outsidePredecessors.ToList();
                    if (candidates.Count > 0 && !candidates.Any(c => CryptographicOperations.FixedTimeEquals(previous, c)))
                    {
                        problems.Add($"{delta.Key} does not continue {full.Key} or any delta ending at revision {delta.Snapshot.Name.FirstRevision - 1}: it was written after another file (a different chain of revisions)");
                    }
                }
            }

            before = delta;
        }

        return problems;
    }

    /// <summary>Why these files cannot be checked for where they came from, as warnings (files written before Lifeboat recorded it).</summary>
    public static IReadOnlyList<string> Unchecked(FileIdentity full, IReadOnlyList<FileIdentity> deltas)
    {
        ArgumentNullException.ThrowIfNull(full);
        ArgumentNullException.ThrowIfNull(deltas);
        var warnings = new List<string>();
        if (full.ClusterId is null)
        {
            warnings.Add($"full snapshot {full.Key} was written before Lifeboat recorded the cluster in snapshots: its origin cannot be checked");
        }

        var unlinked = deltas.Count(d => d.PreviousSha256 is not { Length: > 0 });
        if (unlinked > 0)
        {
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"{unlinked} delta(s) were written before Lifeboat linked each delta to the file before it (first: {deltas.First(d => d.PreviousSha256 is not { Length: > 0 }).Key}): their order is checked by revision only"));
        }

        return warnings;
    }

    /// <summary>How a file's name and content disagree on its cluster (a file renamed into another's place), or null.</summary>
    public static string? Misnamed(FileIdentity file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return file.Snapshot.Name.ClusterId is { } named && file.ClusterId is { } held && named != held
            ? $"{file.Key} is named for etcd cluster {Hex(named)} but holds data of cluster {Hex(held)}"
            : null;
    }

    /// <summary>The refusal for <see cref="Problems"/>: exit 6, naming the first file that does not belong.</summary>
    public static IntegrityException Refusal(IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return new IntegrityException($"the chain mixes files that do not belong together: {problems[0]}"
            + (problems.Count > 1 ? string.Create(CultureInfo.InvariantCulture, $" (and {problems.Count - 1} more)") : ""),
            "move the file that does not belong out of the store (lifeboat etcd snapshots verify --all lists them), or restore to a revision before it (--to-revision)");
    }

    public static string Hex(ulong id) => id.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads a stored file end to end for its identity and hash (the next delta's link), checking its integrity on the
    /// way. For a delta, a cheap read; for a full snapshot, a read of the whole database.
    /// </summary>
    /// <exception cref="IntegrityException">The file is damaged.</exception>
    public static async Task<FileIdentity> ReadAsync(ISnapshotStore store, StoredSnapshot snapshot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(snapshot);
        SnapshotCodec.ThrowIfUnavailable(snapshot.Name.Compression);
        await using var input = SnapshotCodec.Decompressing(await store.OpenReadAsync(snapshot.Key, cancellationToken), snapshot.Name.Compression);
        try
        {
            if (snapshot.Name.Kind == SnapshotKind.Delta)
            {
                var (header, _, _, sha) = await DeltaFile.VerifyAsync(input, snapshot.Key, cancellationToken);
                return Of(snapshot, header, sha);
            }

            var result = await FullSnapshotReader.ReadAsync(input, _ => ValueTask.CompletedTask, cancellationToken);
            return result.HashMatches
                ? Of(snapshot, result)
                : throw new IntegrityException($"full snapshot {snapshot.Key} is unusable: its SHA-256 does not match (truncated or corrupted)",
                    "take a new full snapshot");
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
        {
            throw new IntegrityException($"{snapshot.Key} is unusable: its {snapshot.Name.Compression.ToString().ToLowerInvariant()} compression is corrupt ({ex.Message.TrimEnd('.')})",
                "take a new full snapshot");
        }
    }

    public static FileIdentity Of(StoredSnapshot delta, Deltas.Format.DeltaHeader header, byte[] sha256)
    {
        ArgumentNullException.ThrowIfNull(header);
        return new FileIdentity(delta, header.ClusterId == 0 ? null : header.ClusterId, header.MemberId == 0 ? null : header.MemberId,
            header.PreviousSha256.IsEmpty ? null : header.PreviousSha256.ToByteArray(), sha256);
    }

    public static FileIdentity Of(StoredSnapshot full, FullSnapshotReader.Result result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new FileIdentity(full, result.Identity?.ClusterId, result.Identity?.MemberId, null, result.TrailingHash);
    }
}
