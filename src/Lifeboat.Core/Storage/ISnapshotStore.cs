namespace Lifeboat.Core.Storage;

/// <summary>
/// Where snapshots and backups go: a flat key space of immutable objects. The contract every implementation keeps
/// (and the shared contract test suite checks):
/// <list type="bullet">
/// <item>An object becomes visible to <see cref="ListAsync"/> and <see cref="OpenReadAsync"/> only when
/// <see cref="IStoreWrite.CommitAsync"/> returns; an abandoned or failed write leaves nothing visible.</item>
/// <item>Committing never replaces an existing object unless asked to.</item>
/// <item>Every operation honours its <see cref="CancellationToken"/>.</item>
/// <item>Failures are <see cref="Errors.StoreException"/>s with a kind, a one-line message and a hint.</item>
/// </list>
/// Keys are validated by <see cref="StoreKey.Validate"/>; which keys exist is decided by layout types such as
/// <see cref="Snapshots.SnapshotLayout"/>, never by a store.
/// </summary>
public interface ISnapshotStore
{
    /// <summary>Where the store is, for messages and logs; never contains credentials.</summary>
    string Location { get; }

    /// <summary>Complete objects whose keys start with <paramref name="prefix"/>, in no particular order.</summary>
    IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Starts writing a new object whose key is chosen at commit time (e.g. once a snapshot's revision is known).</summary>
    Task<IStoreWrite> BeginWriteAsync(CancellationToken cancellationToken);

    /// <summary>Opens a complete object for reading.</summary>
    /// <exception cref="Errors.StoreException">With <see cref="Errors.StoreErrorKind.NotFound"/> when it does not exist.</exception>
    Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken);

    /// <summary>Deletes an object; deleting a missing object is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);
}
