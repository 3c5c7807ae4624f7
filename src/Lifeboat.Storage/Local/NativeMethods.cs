using System.Runtime.InteropServices;

namespace Lifeboat.Storage.Local;

/// <summary>The POSIX calls .NET does not expose: fsync of a directory, so that a rename survives a crash.</summary>
internal static partial class NativeMethods
{
    private const int ORdOnly = 0;
    private const int ODirectory = 0x10000; // Linux x86_64 and arm64

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(int fd, long offset, long nbytes, uint flags);

    private const uint SyncFileRangeWrite = 2;

    /// <summary>
    /// Starts writeback of a file range without waiting for it (Linux <c>sync_file_range(SYNC_FILE_RANGE_WRITE)</c>),
    /// so that the fsync at commit finds little left to write. Not a durability guarantee; best effort, never throws.
    /// </summary>
    public static void StartWriteback(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, long length)
    {
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

    /// <summary>Flushes a directory's entries to disk. A no-op where the platform has no such call.</summary>
    public static void FsyncDirectory(string path)
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
}
