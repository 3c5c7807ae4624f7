using System.Runtime.InteropServices;

namespace Lifeboat.Core.IO;

/// <summary>
/// fsync of a directory, so that the names in it (a rename, a new file) survive a crash as file contents synced with
/// <see cref="FileStream.Flush(bool)"/> do. .NET has no call for it (it refuses to open a directory as a file), so this
/// is the one POSIX call made by hand.
/// </summary>
public static partial class DirectorySync
{
    private const int ORdOnly = 0;
    private const int ODirectory = 0x10000; // Linux x86_64 and arm64

    /// <summary>Flushes a directory's entries to disk. A no-op where the platform has no such call.</summary>
    /// <exception cref="IOException">The directory cannot be opened or synced.</exception>
    public static void Flush(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(path, ORdOnly | ODirectory);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {path} to sync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"cannot sync directory {path} (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
