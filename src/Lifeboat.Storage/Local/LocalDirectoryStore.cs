using System.Runtime.CompilerServices;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;

namespace Lifeboat.Storage.Local;

/// <summary>
/// A store in a local directory. Content is written unbuffered and inline (see <see cref="GuardedWriteStream"/>).
/// Writes go to <c>&lt;root&gt;/.tmp/</c> (same file system as the final place), and a
/// commit is fsync of the file, an atomic rename into place and fsync of the directory: after a crash an object is
/// either whole or absent. Files in <c>.tmp</c> are never listed; those older than a day are removed on open.
/// </summary>
public sealed class LocalDirectoryStore : ISnapshotStore
{
    private const string TempDirectoryName = ".tmp";
    private static readonly TimeSpan StaleTempAge = TimeSpan.FromDays(1);

    private readonly string _root;
    private readonly string _tempDirectory;
    private readonly TimeProvider _time;

    private LocalDirectoryStore(string root, TimeProvider time)
    {
        _root = root;
        _tempDirectory = Path.Combine(root, TempDirectoryName);
        _time = time;
    }

    public string Location => "file://" + _root;

    /// <summary>Opens a store rooted at <paramref name="directory"/>, creating it unless <paramref name="create"/> is false.</summary>
    /// <param name="create">False for commands that only read: a missing store is then an error and nothing is created.</param>
    /// <exception cref="StoreException">The directory cannot be created or written, or is missing and not to be created.</exception>
    public static LocalDirectoryStore Open(string directory, TimeProvider? time = null, bool create = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var root = Path.GetFullPath(directory);
        var store = new LocalDirectoryStore(root, time ?? TimeProvider.System);
        if (!create && !Directory.Exists(root))
        {
            throw new StoreException(StoreErrorKind.NotFound, $"store directory {root} does not exist", "check --store");
        }

        if (!create)
        {
            return store;
        }

        Guard(root, "open the store directory", () =>
        {
            Directory.CreateDirectory(root);
            Directory.CreateDirectory(store._tempDirectory);
            store.RemoveStaleTempFiles();
        });
        return store;
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        cancellationToken.ThrowIfCancellationRequested();
        if (!Directory.Exists(_root))
        {
            // It existed when the store was opened: an empty listing here would read as "no snapshots".
            throw new StoreException(StoreErrorKind.Unavailable, $"store directory {_root} is gone or no longer a directory",
                "check the volume or mount that holds it");
        }

        var files = Guard(_root, "list the store", () => Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories).ToList());
        foreach (var path in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var key = Path.GetRelativePath(_root, path).Replace(Path.DirectorySeparatorChar, '/');
            if (!key.StartsWith(prefix, StringComparison.Ordinal) || !StoreKey.IsValid(key))
            {
                continue; // temporary files (".tmp/...") and foreign names are not objects
            }

            var info = new FileInfo(path);
            if (info.Exists)
            {
                yield return new StoredObject(key, info.Length, info.LastWriteTimeUtc);
            }
        }

        await Task.CompletedTask;
    }

    public Task<IStoreWrite> BeginWriteAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var tempPath = Path.Combine(_tempDirectory, $"{Guid.NewGuid():N}.part");
        var stream = Guard(_root, "create a file in the store", () =>
        {
            Directory.CreateDirectory(_tempDirectory);
            return new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.None);
        });
        return Task.FromResult<IStoreWrite>(new LocalWrite(this, tempPath, new GuardedWriteStream(stream, _root)));
    }

    public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        StoreKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOf(key);
        if (!File.Exists(path))
        {
            throw new StoreException(StoreErrorKind.NotFound, $"{key} does not exist in {Location}",
                "list the store's snapshots to see what it holds");
        }

        return Task.FromResult<Stream>(Guard(_root, "read from the store", () =>
            new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16,
                FileOptions.Asynchronous | FileOptions.SequentialScan)));
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        StoreKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOf(key);
        Guard(_root, "delete from the store", () =>
        {
            File.Delete(path);
            var dir = Path.GetDirectoryName(path)!;
            if (Directory.Exists(dir))
            {
                Core.IO.FileSync.Directory(dir);
            }
        });
        return Task.CompletedTask;
    }

    private string PathOf(string key) => Path.Combine(_root, key.Replace('/', Path.DirectorySeparatorChar));

    private void RemoveStaleTempFiles()
    {
        var cutoff = _time.GetUtcNow() - StaleTempAge;
        foreach (var file in new DirectoryInfo(_tempDirectory).EnumerateFiles("*.part"))
        {
            if (file.LastWriteTimeUtc < cutoff)
            {
                file.Delete();
            }
        }
    }

    private StoredObject Commit(string tempPath, FileStream stream, string key, bool overwrite)
    {
        var path = PathOf(key);
        return Guard(_root, "commit a file to the store", () =>
        {
            stream.Flush(flushToDisk: true);
            var length = stream.Length;
            stream.Dispose();
            var dir = Path.GetDirectoryName(path)!;
            Directory.CreateDirectory(dir);
            if (!overwrite && File.Exists(path))
            {
                throw new StoreException(StoreErrorKind.AlreadyExists, $"{key} already exists in {Location}",
                    "an object is never replaced without --force");
            }

            File.Move(tempPath, path, overwrite);
            Core.IO.FileSync.Directory(dir);
            return new StoredObject(key, length, File.GetLastWriteTimeUtc(path));
        });
    }

    /// <summary>Runs a file-system action and turns its failures into <see cref="StoreException"/>s that say what to do.</summary>
    internal static T Guard<T>(string root, string action, Func<T> body)
    {
        try
        {
            return body();
        }
        catch (Exception ex) when (Translate(ex, root, action) is { } translated)
        {
            throw translated;
        }
    }

    private static void Guard(string root, string action, Action body) =>
        Guard(root, action, () => { body(); return 0; });

    internal static StoreException? Translate(Exception ex, string root, string action) => ex switch
    {
        StoreException => null,
        UnauthorizedAccessException => new StoreException(StoreErrorKind.AccessDenied,
            $"cannot {action} at {root}: permission denied",
            "make the directory writable by this user or point --store elsewhere", ex),
        IOException io when IsDiskFull(io) => new StoreException(StoreErrorKind.Full,
            $"cannot {action} at {root}: no space left on device",
            "free space on that file system or point --store at one with room", ex),
        IOException io => new StoreException(StoreErrorKind.Unavailable,
            $"cannot {action} at {root}: {io.Message}", "check the directory and its file system", ex),
        _ => null,
    };

    private static bool IsDiskFull(IOException io)
    {
        const int Enospc = 28;
        const int Edquot = 122;
        return (io.HResult & 0xFFFF) is Enospc or Edquot || io.HResult is 0x70 or unchecked((int)0x80070070);
    }

    private sealed class LocalWrite(LocalDirectoryStore store, string tempPath, GuardedWriteStream content) : IStoreWrite
    {
        private bool _done;

        public Stream Content => content;

        public Task<StoredObject> CommitAsync(string key, bool overwrite, CancellationToken cancellationToken)
        {
            StoreKey.Validate(key);
            ObjectDisposedException.ThrowIf(_done, this);
            cancellationToken.ThrowIfCancellationRequested();
            var result = store.Commit(tempPath, content.Inner, key, overwrite);
            _done = true;
            return Task.FromResult(result);
        }

        public async ValueTask DisposeAsync()
        {
            if (_done)
            {
                return;
            }

            _done = true;
            try
            {
                await content.Inner.DisposeAsync();
            }
            catch (IOException)
            {
                // Flushing the rest of a failed write can fail again (disk still full); the file goes either way.
            }

            File.Delete(tempPath);
        }
    }
}
