namespace Lifeboat.Core.IO;

/// <summary>Files the kubelet mounts (Secrets, projected service account tokens), which change by a swapped link.</summary>
public static class MountedFile
{
    /// <summary>
    /// What identifies the file's current version: the real file behind <paramref name="path"/> (links followed to the
    /// end), its modification time and length. The kubelet rotates a mount by pointing its <c>..data</c> link at a new
    /// directory and never touches the visible links, whose own times are what <see cref="File.GetLastWriteTimeUtc(string)"/> reads.
    /// </summary>
    public static string Version(string path)
    {
        var file = new FileInfo(path);
        var real = file.LinkTarget is null ? file : file.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? file;
        return real.Exists ? $"{real.FullName}|{real.LastWriteTimeUtc.Ticks}|{real.Length}" : "missing";
    }
}
