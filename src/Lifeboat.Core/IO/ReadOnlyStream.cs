namespace Lifeboat.Core.IO;

/// <summary>
/// The part every forward-only reading stream in Lifeboat shares (decompressors, decryptors, store reads): it cannot be
/// written or sought, flushing does nothing, and by default it has no length or position. Subclasses read and dispose.
/// </summary>
public abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;

    public sealed override bool CanSeek => false;

    public sealed override bool CanWrite => false;

    /// <summary>Unknown unless a subclass knows it (an object's stored size, for instance).</summary>
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public sealed override void Flush()
    {
    }

    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public sealed override void SetLength(long value) => throw new NotSupportedException();

    public sealed override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
