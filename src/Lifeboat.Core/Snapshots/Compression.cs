namespace Lifeboat.Core.Snapshots;

/// <summary>How the bytes of a stored snapshot are compressed; recorded in the object name.</summary>
public enum Compression
{
    None,

    /// <summary>gzip (RFC 1952), possibly several members in a row; readable with any gunzip.</summary>
    Gzip,

    /// <summary>zstd (RFC 8878) with content checksums, through the system's libzstd; readable with <c>zstd -d</c>.</summary>
    Zstd,
}
