using System.Runtime.InteropServices;

namespace Lifeboat.Core.IO;

/// <summary>
/// The two POSIX calls for durable files that .NET does not expose, made by hand: fsync of a directory, so that the
/// names in it (a rename, a new file) survive a crash as file contents synced with <see cref="FileStream.Flush(bool)"/>
/// do (.NET refuses to open a directory as a file); and starting writeback early, so that the fsync at the end of a
/// large write finds little left to write.
/// </summary>
public static partial class FileSync
{
    private const int ORdOnly = 0;
    private const int ODirectory = 0x10000; // Linux x86_64 and arm64

    /// <summary>Flushes a directory's entries to disk. A no-op where the platform has no such call.</summary>
    /// <exception cref="IOException">The directory cannot be opened or synced.</exception>
    public static void Directory(string path)
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

    /// <summary>
    /// Starts writeback of a file range without waiting for it (Linux <c>sync_file_range(SYNC_FILE_RANGE_WRITE)</c>),
    /// so that the fsync at commit finds little left to write. Not a durability guarantee; best effort, never throws.
    /// </summary>
    public static void StartWriteback(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, long length)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!OperatingSystem.IsLinux() || file.IsInvalid || file.IsClosed)
        {
            return;
        }

        var added = false;
        file.DangerousAddRef(ref added);
        try
        {
            _ = SyncFileRange((int)file.DangerousGetHandle(), offset, length, SyncFileRangeWrite);
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    private const uint SyncFileRangeWrite = 2;

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(int fd, long offset, long nbytes, uint flags);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
