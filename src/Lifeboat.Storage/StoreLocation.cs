using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;
using Lifeboat.Storage.Local;

namespace Lifeboat.Storage;

/// <summary>Opens a store from the <c>--store</c> value: <c>file:///abs/path</c>, or a plain path for a local directory.</summary>
public static class StoreLocation
{
    /// <param name="create">False for commands that only read: a missing local store is then an error, and nothing is created.</param>
    public static ISnapshotStore Open(string location, TimeProvider? time = null, bool create = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        if (location.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(location, UriKind.Absolute, out var uri) || !string.IsNullOrEmpty(uri.Host) && uri.Host != "localhost")
            {
                throw new StoreException(StoreErrorKind.InvalidLocation, $"'{location}' is not a valid file URL",
                    "write it as file:///absolute/path (three slashes)");
            }

            return LocalDirectoryStore.Open(Uri.UnescapeDataString(uri.AbsolutePath), time, create);
        }

        if (location.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            throw new StoreException(StoreErrorKind.InvalidLocation, "S3 stores are not supported by this build yet",
                "use --store file:///path for a local directory");
        }

        if (location.Contains("://", StringComparison.Ordinal))
        {
            throw new StoreException(StoreErrorKind.InvalidLocation, $"unsupported store location '{location}'",
                "use file:///path (or a plain directory path)");
        }

        return LocalDirectoryStore.Open(location, time, create);
    }
}
