namespace Lifeboat.Core.Storage;

/// <summary>
/// One object being written. Write to <see cref="Content"/>, then <see cref="CommitAsync"/>. Disposing without a
/// successful commit aborts: the partial data is removed and never listed.
/// </summary>
/// <remarks>Not thread-safe: one writer at a time, as with any <see cref="Stream"/>.</remarks>
public interface IStoreWrite : IAsyncDisposable
{
    /// <summary>Where the object's bytes go. Do not dispose it; <see cref="CommitAsync"/> or disposal of this write closes it.</summary>
    Stream Content { get; }

    /// <summary>
    /// Makes the written bytes durable and visible under <paramref name="key"/> in one atomic step.
    /// </summary>
    /// <exception cref="Errors.StoreException">
    /// <see cref="Errors.StoreErrorKind.AlreadyExists"/> when <paramref name="key"/> exists and <paramref name="overwrite"/> is false.
    /// </exception>
    Task<StoredObject> CommitAsync(string key, bool overwrite, CancellationToken cancellationToken);
}
