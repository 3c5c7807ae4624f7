using System.Security.Cryptography;
using Lifeboat.Core.Codecs;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd.Bolt;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Etcd.Deltas.Format;

namespace Lifeboat.Etcd.Snapshots;

/// <summary>What reading one stored snapshot end to end found.</summary>
/// <param name="Problem">Why it cannot be restored from, or null when it can.</param>
/// <param name="StoredSha256">SHA-256 of the stored bytes (as the store holds them: compressed, encrypted).</param>
/// <param name="Identity">Where the content says it came from, and the file it continues; null when it could not be read.</param>
public sealed record SnapshotCheck(
    StoredSnapshot Snapshot,
    string? Problem,
    string StoredSha256,
    FileIdentity? Identity = null,
    long? DatabaseBytes = null,
    int? PageSize = null,
    long? Records = null,
    long? Changes = null,
    ulong? ClusterId = null,
    ulong? MemberId = null)
{
    public bool Ok => Problem is null;

    /// <summary>The SHA-256 the file ends with (after decompression and decryption), which it was checked against.</summary>
    public string? Sha256 => Identity is null ? null : Convert.ToHexStringLower(Identity.Sha256);
}

/// <summary>
/// Reads stored snapshots end to end, as a restore would, without restoring: a full snapshot's compression, its
/// trailing SHA-256 and its bbolt structure (the revision it really holds must be the one its name says); a delta's
/// structure, contiguity, revisions and checksum (docs/delta-format.md); and between the files of a chain, that no
/// revision is missing.
/// </summary>
public sealed class SnapshotVerifier(ISnapshotStore store)
{
    /// <exception cref="KeyUnavailableException">It is encrypted with a key that was not given: not damage, a refusal.</exception>
    /// <exception cref="CodecUnavailableException">It is compressed with a codec this machine lacks.</exception>
    public async Task<SnapshotCheck> CheckAsync(StoredSnapshot snapshot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        SnapshotCodec.ThrowIfUnavailable(snapshot.Name.Compression);
        using var stored = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            await using var raw = await store.OpenReadAsync(snapshot.Key, cancellationToken);
            await using var hashed = new ObservingReadStream(raw, bytes => stored.AppendData(bytes));
            await using var input = SnapshotCodec.Decompressing(hashed, snapshot.Name.Compression);
            return snapshot.Name.Kind == SnapshotKind.Full
                ? await CheckFullAsync(snapshot, input, stored, cancellationToken)
                : await CheckDeltaAsync(snapshot, input, stored, cancellationToken);
        }
        catch (Exception ex) when (ex is IntegrityException or InvalidDataException or EndOfStreamException or StoreException { Kind: StoreErrorKind.NotFound })
        {
            return new SnapshotCheck(snapshot, Describe(ex), "");
        }
    }

    /// <summary>Revisions a chain lacks between its files, as problems naming the files on either side.</summary>
    public static IReadOnlyList<string> Gaps(ChainSpan chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        var problems = new List<string>();
        var reach = chain.Full.Name.LastRevision;
        var previous = chain.Full.Key;
        foreach (var delta in chain.Deltas)
        {
            if (delta.Name.FirstRevision > reach + 1)
            {
                problems.Add($"revisions {reach + 1}..{delta.Name.FirstRevision - 1} are in no delta (between {previous} and {delta.Key})");
            }

            reach = Math.Max(reach, delta.Name.LastRevision);
            previous = delta.Key;
        }

        if (chain.GapAfter is { } gap && gap > reach)
        {
            problems.Add($"revision {gap} is in no delta (after {previous})");
        }

        return problems;
    }

    private static async Task<SnapshotCheck> CheckFullAsync(StoredSnapshot snapshot, Stream input, IncrementalHash stored, CancellationToken cancellationToken)
    {
        var scanner = new BoltRevisionScanner();
        var result = await FullSnapshotReader.ReadAsync(input, bytes =>
        {
            scanner.Append(bytes.Span);
            return ValueTask.CompletedTask;
        }, cancellationToken);
        var storedHash = Convert.ToHexStringLower(stored.GetHashAndReset());
        if (!result.HashMatches)
        {
            return new SnapshotCheck(snapshot, "its SHA-256 does not match the database (truncated or corrupted)", storedHash, DatabaseBytes: result.DatabaseBytes);
        }

        var bolt = scanner.Complete();
        var identity = ChainIdentity.Of(snapshot, result);
        var problem = bolt.Revision != snapshot.Name.LastRevision ? $"it holds revision {bolt.Revision}, not the {snapshot.Name.LastRevision} its name says"
            : result.Identity is { } recorded && recorded.Revision != bolt.Revision ? $"its identity records revision {recorded.Revision}, but the database holds {bolt.Revision}"
            : ChainIdentity.Misnamed(identity);
        return new SnapshotCheck(snapshot, problem, storedHash, identity, result.DatabaseBytes, bolt.PageSize,
            ClusterId: identity.ClusterId, MemberId: identity.MemberId);
    }

    private static async Task<SnapshotCheck> CheckDeltaAsync(StoredSnapshot snapshot, Stream input, IncrementalHash stored, CancellationToken cancellationToken)
    {
        var (header, records, changes, sha) = await DeltaFile.VerifyAsync(input, snapshot.Key, cancellationToken);
        var storedHash = Convert.ToHexStringLower(stored.GetHashAndReset());
        var identity = ChainIdentity.Of(snapshot, header, sha);
        var problem = Misnamed(snapshot, header) is { } misnamed ? "it " + misnamed : ChainIdentity.Misnamed(identity);
        return new SnapshotCheck(snapshot, problem, storedHash, identity, Records: records, Changes: changes, ClusterId: header.ClusterId, MemberId: header.MemberId);
    }

    /// <summary>
    /// Files of <paramref name="chain"/> that do not belong together (<see cref="ChainIdentity"/>), from the checks of
    /// its files; a file whose check failed is left out (its own problem says why). Deltas outside the chain that end
    /// right before its first delta are taken from <paramref name="checks"/> too, when they were checked.
    /// </summary>
    public static IReadOnlyList<string> Foreign(ChainSpan chain, IReadOnlyDictionary<string, SnapshotCheck> checks)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(checks);
        FileIdentity? Sound(StoredSnapshot s) => checks.TryGetValue(s.Key, out var c) && c.Ok ? c.Identity : null;
        if (Sound(chain.Full) is not { } full)
        {
            return [];
        }

        var deltas = chain.Deltas.Select(Sound).TakeWhile(i => i is not null).Select(i => i!).ToList();
        var first = chain.Deltas.Count > 0 ? chain.Deltas[0].Name.FirstRevision : 0;
        var outside = checks.Values
            .Where(c => c.Ok && c.Identity is not null && c.Snapshot.Name.Kind == SnapshotKind.Delta && c.Snapshot.Name.LastRevision == first - 1 && !chain.Deltas.Contains(c.Snapshot))
            .Select(c => c.Identity!.Sha256).ToList();
        return ChainIdentity.Problems(full, deltas, outside);
    }

    /// <summary>
    /// How a delta's content disagrees with its name (<c>holds revisions X..Y, not the A..B its name says</c>), or null:
    /// a file put under another's name. Verify and restore ask the same question.
    /// </summary>
    public static string? Misnamed(StoredSnapshot delta, DeltaHeader header)
    {
        ArgumentNullException.ThrowIfNull(delta);
        ArgumentNullException.ThrowIfNull(header);
        return header.FirstRevision == delta.Name.FirstRevision && header.LastRevision == delta.Name.LastRevision
            ? null
            : $"holds revisions {header.FirstRevision}..{header.LastRevision}, not the {delta.Name.FirstRevision}..{delta.Name.LastRevision} its name says";
    }

    private static string Describe(Exception ex) => ex switch
    {
        InvalidDataException => $"its compression is corrupt ({ex.Message.TrimEnd('.')})",
        EndOfStreamException => "it ends early (truncated)",
        _ => ex.Message.TrimEnd('.'),
    };
}
