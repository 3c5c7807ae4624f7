namespace Lifeboat.Core.Snapshots;

/// <summary>How the bytes of a stored snapshot are compressed; recorded in the object name.</summary>
public enum Compression
{
    None,
    Gzip,
}
