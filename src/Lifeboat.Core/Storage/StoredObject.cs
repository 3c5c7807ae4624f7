namespace Lifeboat.Core.Storage;

/// <summary>A complete object in a store.</summary>
/// <param name="Key">Store-relative key, <c>/</c>-separated.</param>
/// <param name="Size">Size of the stored bytes.</param>
/// <param name="LastModified">When the store last wrote it.</param>
public sealed record StoredObject(string Key, long Size, DateTimeOffset LastModified);
