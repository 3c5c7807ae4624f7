namespace Lifeboat.Core.IO;

/// <summary>
/// The part every forward-only writing stream in Lifeboat shares (compressors, encryptors, store writes): it cannot be
/// read or sought, and by default has no length or position. Subclasses write, flush and dispose.
/// </summary>
public abstract class WriteOnlyStream : Stream
{
    public sealed override bool CanRead => false;

    public sealed override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    /// <summary>Setting it is never supported; subclasses that count bytes may report it.</summary>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public sealed override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public sealed override void SetLength(long value) => throw new NotSupportedException();
}
