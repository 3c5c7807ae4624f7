namespace Lifeboat.Etcd.Restore;

/// <summary>
/// A restore's (or init's) scratch directory (<c>.lifeboat-restore-*</c>, <c>.lifeboat-init-*</c>), owned while a lock file in it is held open. A restore
/// killed midway leaves it behind, with the hidden layout directory it was filling beside the data directory; the
/// next restore or init finds directories whose owner is gone (the lock can be taken) and removes them with what they
/// record. A directory whose owner still runs, or that has no lock file (not made by this code), is never touched.
/// </summary>
internal sealed class ScratchDirectory : IDisposable
{
    private const string Prefix = ".lifeboat-";
    public const string PartialMarker = ".lifeboat-partial-";
    private const string LockFile = "owner.lock";
    private const string StagingPrefix = ".lbscratch-";
    private const string PartialRecord = "partial";
    private readonly FileStream _lock;

    private ScratchDirectory(string path, FileStream ownerLock)
    {
        Path = path;
        _lock = ownerLock;
    }

    public string Path { get; }

    /// <param name="purpose">Part of the name: <c>restore</c>, <c>init</c>.</param>
    public static ScratchDirectory Create(string root, string purpose, DateTimeOffset now)
    {
        var path = System.IO.Path.Combine(root, $"{Prefix}{purpose}-{now:yyyyMMddTHHmmss}-{Guid.NewGuid():N}");
        // Made and locked under a name the clean-up does not look at, then renamed into place: a directory with the
        // prefix always has its lock held from the start. (Created in place, another restore's clean-up could take the
        // lock file in the moment between its creation and its lock, and remove the directory as abandoned.)
        var staging = System.IO.Path.Combine(root, $"{StagingPrefix}{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        // FileShare.None is an exclusive flock on Linux: held until this process ends, however it ends; a rename keeps it.
        var ownerLock = new FileStream(System.IO.Path.Combine(staging, LockFile), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        try
        {
            Directory.Move(staging, path);
        }
        catch
        {
            ownerLock.Dispose();
            Directory.Delete(staging, recursive: true);
            throw;
        }

        return new ScratchDirectory(path, ownerLock);
    }

    /// <summary>Records the hidden directory a layout is about to fill, so that a restore killed meanwhile does not leave it for good.</summary>
    public void RecordPartial(string partial) => File.WriteAllText(System.IO.Path.Combine(Path, PartialRecord), partial);

    public void Dispose()
    {
        _lock.Dispose();
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }

    /// <summary>Removes what dead restores left in <paramref name="roots"/>; returns the paths removed.</summary>
    public static IReadOnlyList<string> RemoveAbandoned(IEnumerable<string> roots)
    {
        var removed = new List<string>();
        foreach (var root in roots.Distinct(StringComparer.Ordinal).Where(Directory.Exists))
        {
            IEnumerable<string> candidates;
            try
            {
                candidates = Directory.EnumerateDirectories(root, Prefix + "*").ToList();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var scratch in candidates)
            {
                if (TryRemove(scratch, removed))
                {
                    removed.Add(scratch);
                }
            }
        }

        return removed;
    }

    private static bool TryRemove(string scratch, List<string> removed)
    {
        var lockPath = System.IO.Path.Combine(scratch, LockFile);
        try
        {
            if (!File.Exists(lockPath))
            {
                return false; // not ours
            }

            using (new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            {
                // Taken: its owner is gone. What it recorded goes first, then the directory itself.
                var record = System.IO.Path.Combine(scratch, PartialRecord);
                if (File.Exists(record) && File.ReadAllText(record).Trim() is { Length: > 0 } partial
                    && System.IO.Path.GetFileName(partial).Contains(PartialMarker, StringComparison.Ordinal) && Directory.Exists(partial))
                {
                    Directory.Delete(partial, recursive: true);
                    removed.Add(partial);
                }
            }

            Directory.Delete(scratch, recursive: true);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false; // its owner still runs (the lock is held), or it cannot be removed: leave it
        }
    }
}
