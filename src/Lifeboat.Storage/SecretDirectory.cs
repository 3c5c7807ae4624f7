using Lifeboat.Core.Errors;
using Lifeboat.Core.IO;

namespace Lifeboat.Storage;

/// <summary>
/// A directory of credential files, as a mounted Kubernetes Secret provides them (one file per key). The kubelet
/// rotates a mounted Secret by pointing its <c>..data</c> link at a new directory: each visible file is a link that
/// never changes itself, so a change shows only in what the links resolve to. <see cref="Stamp"/> follows them and is
/// cheap enough to check before every request; a store re-reads the files when it moves.
/// </summary>
/// <param name="directory">The directory (made absolute).</param>
/// <param name="what">What the files hold, for messages ("S3 credentials").</param>
/// <param name="flag">The flag that names the directory, for the fix in messages.</param>
public sealed class SecretDirectory(string directory, string what, string flag)
{
    public string Directory { get; } = Path.GetFullPath(directory);

    /// <summary>What identifies the current version of each of <paramref name="names"/>: see <see cref="MountedFile.Version"/>.</summary>
    public string[] Stamp(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        return [.. names.Select(name => MountedFile.Version(Path.Combine(Directory, name)))];
    }

    /// <summary>Whether the file exists (and so whether a credential kind is given).</summary>
    public bool Has(string name) => File.Exists(Path.Combine(Directory, name));

    /// <summary>The file's content, trimmed; null when it is missing and not <paramref name="required"/>.</summary>
    /// <exception cref="StoreException"><see cref="StoreErrorKind.AccessDenied"/>: missing, empty or unreadable.</exception>
    public string? Read(string name, bool required)
    {
        var path = Path.Combine(Directory, name);
        try
        {
            var value = File.ReadAllText(path).Trim();
            if (value.Length == 0 && required)
            {
                throw new StoreException(StoreErrorKind.AccessDenied, $"{what} file {path} is empty",
                    $"put the value in {name} (the Secret's key of that name)");
            }

            return value.Length == 0 ? null : value;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException && !required)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StoreException(StoreErrorKind.AccessDenied, $"cannot read {what} file {path}: {ex.Message}",
                $"mount the Secret with the key {name} at {Directory}, or fix {flag}", ex);
        }
    }
}
