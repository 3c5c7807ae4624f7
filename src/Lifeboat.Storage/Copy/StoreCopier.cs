using System.Security.Cryptography;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;
using Lifeboat.Storage.Encryption;

namespace Lifeboat.Storage.Copy;

/// <summary>How far a copy is: objects and bytes done out of those it found missing in the target.</summary>
public sealed record CopyProgress(int Objects, int TotalObjects, long Bytes, long TotalBytes, string? Current);

/// <summary>What a copy did. <see cref="Failures"/> names each object that was not copied, with the reason.</summary>
public sealed record CopyResult(int Copied, int Present, long Bytes, IReadOnlyList<string> Failures, IReadOnlyList<string> FailedKeys)
{
    public bool Ok => Failures.Count == 0;

    /// <summary>This result followed by <paramref name="next"/>'s (a copy in phases).</summary>
    public CopyResult Then(CopyResult next)
    {
        ArgumentNullException.ThrowIfNull(next);
        return new(Copied + next.Copied, Present + next.Present, Bytes + next.Bytes, [.. Failures, .. next.Failures], [.. FailedKeys, .. next.FailedKeys]);
    }
}

/// <summary>
/// Copies objects from one store to another, any kinds of store on either side, so that a cluster's backups can move
/// to another store (a control-plane migration, a second region).
/// </summary>
/// <remarks>
/// <para><b>Idempotent and resumable.</b> The target is listed first; an object it already holds (under the same name,
/// whatever key encrypts it there) is not copied again. Each write is atomic in every store, so a copy that is killed
/// leaves only whole objects, and running it again copies what is still missing.</para>
/// <para><b>Verified.</b> The bytes are hashed on the way (SHA-256). Reading from an object store checks them against
/// the hash stored with them, so a damaged source object fails rather than spreads. After each write the target's
/// object is read back and checked (<see cref="VerifyAsync"/>: by default its SHA-256 against the one computed on the
/// way), and an object that does not check out is deleted from the target again and reported.</para>
/// <para><b>Encryption.</b> Without a target write key, objects are copied as stored: encrypted ones stay encrypted
/// under their key, and no key is needed. With one, each object is decrypted with the source's keys and written
/// encrypted with the target's key (under the name with that key's id); an object already under that key is copied
/// as it is.</para>
/// </remarks>
public sealed class StoreCopier(ISnapshotStore source, KeyRing sourceKeys, ISnapshotStore target, KeyRing targetKeys)
{
    /// <summary>Objects copied at the same time. At 1 they are copied in the order given (an etcd chain's order).</summary>
    public int Parallelism { get; init; } = 1;

    /// <summary>
    /// Checks an object just written, read back from the target (through its keys): null when it is good, else the problem.
    /// The default compares the SHA-256 of what is read back with the one computed while copying.
    /// </summary>
    public Func<ISnapshotStore, StoredObject, string, CancellationToken, Task<string?>> VerifyAsync { get; init; } = HashMatchesAsync;

    /// <summary>The name an object has whatever key encrypts it: its key without the <c>.enc-&lt;id&gt;</c> suffix.</summary>
    public static string Plain(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return EncryptedStore.KeyIdOf(key) is { } id ? key[..^(EncryptedStore.Marker.Length + id.Length)] : key;
    }

    /// <summary>Copies those of <paramref name="objects"/> (listed from the source) that the target lacks.</summary>
    public async Task<CopyResult> CopyAsync(IReadOnlyList<StoredObject> objects, string targetPrefix, IProgress<CopyProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(objects);
        var present = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var o in target.ListAsync(targetPrefix, cancellationToken))
        {
            present.Add(Plain(o.Key));
        }

        var missing = objects.Where(o => !present.Contains(Plain(o.Key))).ToList();
        var total = missing.Sum(o => o.Size);
        var failures = new List<string>();
        var failedKeys = new List<string>();
        long bytes = 0;
        var done = 0;
        progress?.Report(new CopyProgress(0, missing.Count, 0, total, null));
        using var slots = new SemaphoreSlim(Math.Max(1, Parallelism));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = missing.Select(async o =>
        {
            await slots.WaitAsync(stop.Token);
            try
            {
                string? problem;
                try
                {
                    problem = await CopyOneAsync(o, stop.Token);
                }
                catch (Exception) when (!stop.IsCancellationRequested)
                {
                    await stop.CancelAsync(); // a store down or refusing: the other copies stop too, and a rerun resumes
                    throw;
                }

                lock (failures)
                {
                    if (problem is not null)
                    {
                        failures.Add($"{o.Key}: {problem}");
                        failedKeys.Add(o.Key);
                    }
                    else
                    {
                        done++;
                        bytes += o.Size;
                    }

                    progress?.Report(new CopyProgress(done, missing.Count, bytes, total, o.Key));
                }
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The cause, not the cancellations it caused in the other copies.
            throw tasks.Select(t => t.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException)
                  ?? tasks.First(t => t.IsFaulted || t.IsCanceled).Exception?.InnerException ?? new OperationCanceledException();
        }

        return new CopyResult(done, objects.Count - missing.Count, bytes, failures, failedKeys);
    }

    /// <summary>Copies one object; returns why it was not copied, or null.</summary>
    private async Task<string?> CopyOneAsync(StoredObject o, CancellationToken cancellationToken)
    {
        var sourceKeyId = EncryptedStore.KeyIdOf(o.Key);
        var reencrypt = targetKeys.WriteKey is { } writeKey && writeKey.Id != sourceKeyId;
        // As stored (the raw stores: ciphertext stays ciphertext), or decrypted and encrypted again with the target's key.
        var from = reencrypt ? EncryptedStore.Wrap(source, sourceKeys) : source;
        var to = reencrypt ? EncryptedStore.Wrap(target, targetKeys) : target;
        var commitKey = reencrypt ? Plain(o.Key) : o.Key;
        StoredObject written;
        string sha;
        try
        {
            await using var input = await from.OpenReadAsync(o.Key, cancellationToken);
            await using var write = await to.BeginWriteAsync(cancellationToken);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 20];
            int n;
            while ((n = await input.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                await write.Content.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            }

            sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            written = await write.CommitAsync(commitKey, overwrite: false, cancellationToken);
        }
        catch (StoreException ex) when (ex.Kind == StoreErrorKind.AlreadyExists)
        {
            return null; // written meanwhile by another copy or the sidecar: present, and the other writer's to verify
        }
        catch (Exception ex) when (IsObjectProblem(ex) && !cancellationToken.IsCancellationRequested)
        {
            return ex.Message;
        }

        var view = reencrypt ? to : target;
        string? problem;
        try
        {
            problem = await VerifyAsync(view, written, sha, cancellationToken);
        }
        catch (Exception ex) when (IsObjectProblem(ex) && !cancellationToken.IsCancellationRequested)
        {
            problem = ex.Message;
        }
        catch (Exception)
        {
            // Not checked (the target went away, the copy was stopped): it must not stay, or every later run would
            // count it as present and never check it.
            await RemoveUncheckedAsync(written.Key);
            throw;
        }

        if (problem is not null)
        {
            // Never leave an object in the target that did not check out: a restore from it would trust it.
            await RemoveUncheckedAsync(written.Key);
            return $"the copy did not check out and was removed from the target: {problem}";
        }

        return null;
    }

    /// <summary>Deletes an object written but not verified; if that fails, the copy stops and says which to remove.</summary>
    private async Task RemoveUncheckedAsync(string key)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await target.DeleteAsync(key, timeout.Token);
        }
        catch (Exception ex) when (ex is LifeboatException or OperationCanceledException)
        {
            throw new StoreException(StoreErrorKind.Unavailable, $"{key} was written to {target.Location} but not verified, and could not be removed: {ex.Message}",
                $"delete {key} from {target.Location} by hand before copying again (a rerun would take it as copied)", ex);
        }
    }

    /// <summary>
    /// A failure of one object (damaged, encrypted with a key not given, gone since the listing), reported while the copy
    /// goes on. Anything else (a store down, credentials refused) stops the copy: a rerun resumes it.
    /// </summary>
    private static bool IsObjectProblem(Exception ex) =>
        ex is IntegrityException or KeyUnavailableException or InvalidDataException or StoreException { Kind: StoreErrorKind.NotFound };

    /// <summary>Reads the object back and compares its SHA-256 with <paramref name="sha256"/>.</summary>
    public static async Task<string?> HashMatchesAsync(ISnapshotStore store, StoredObject written, string sha256, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(written);
        await using var input = await store.OpenReadAsync(written.Key, cancellationToken);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        int n;
        while ((n = await input.ReadAsync(buffer, cancellationToken)) > 0)
        {
            hash.AppendData(buffer, 0, n);
        }

        var read = Convert.ToHexStringLower(hash.GetHashAndReset());
        return read == sha256 ? null : $"read back with SHA-256 {read}, written with {sha256}";
    }
}
