namespace Lifeboat.Testing;

/// <summary>
/// A directory laid out as the kubelet mounts a Secret: each key a link <c>KEY -&gt; ..data/KEY</c>, <c>..data</c> a link to
/// a timestamped directory holding the files. <see cref="Update"/> rotates it as the kubelet does: a new directory,
/// then <c>..data</c> swapped to it in one rename; the visible links themselves never change.
/// </summary>
public sealed class MountedSecret
{
    private int _version;

    private MountedSecret(string directory) => Directory = directory;

    public string Directory { get; }

    public static MountedSecret Create(string directory, IReadOnlyDictionary<string, string> data)
    {
        System.IO.Directory.CreateDirectory(directory);
        var secret = new MountedSecret(directory);
        secret.Update(data);
        foreach (var key in data.Keys)
        {
            File.CreateSymbolicLink(Path.Combine(directory, key), Path.Combine("..data", key));
        }

        return secret;
    }

    public void Update(IReadOnlyDictionary<string, string> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var version = $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss}.{++_version}";
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, version));
        foreach (var (key, value) in data)
        {
            File.WriteAllText(Path.Combine(Directory, version, key), value);
        }

        var staging = Path.Combine(Directory, "..data_tmp");
        File.CreateSymbolicLink(staging, version);
        // rename(2) over the old link, as the kubelet does: .NET's File.Move follows a link to a directory and refuses.
        using var mv = System.Diagnostics.Process.Start("mv", ["-T", "-f", staging, Path.Combine(Directory, "..data")])!;
        mv.WaitForExit();
        if (mv.ExitCode != 0)
        {
            throw new IOException($"mv -T {staging} ..data failed with {mv.ExitCode}");
        }
    }
}
