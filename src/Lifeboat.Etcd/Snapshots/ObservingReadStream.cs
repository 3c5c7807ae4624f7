using Lifeboat.Core.IO;

namespace Lifeboat.Etcd.Snapshots;

/// <summary>
/// Passes reads through and shows each run of bytes read to an observer: a hash of the stored bytes (verify), a count
/// for progress (restore).
/// </summary>
internal sealed class ObservingReadStream(Stream inner, ObservingReadStream.Observer observe) : ReadOnlyStream
{
    public delegate void Observer(ReadOnlySpan<byte> bytes);

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = inner.Read(buffer, offset, count);
        observe(buffer.AsSpan(offset, n));
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        observe(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }
}
