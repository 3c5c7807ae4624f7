using System.Runtime.InteropServices;

namespace Lifeboat.Storage.Local;

/// <summary>The POSIX call .NET does not expose for writing files ahead of their fsync (directory fsync: <see cref="Core.IO.DirectorySync"/>).</summary>
internal static partial class NativeMethods
{
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
}
