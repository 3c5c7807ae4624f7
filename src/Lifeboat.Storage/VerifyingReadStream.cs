using System.Security.Cryptography;
using Lifeboat.Core.Errors;
using Lifeboat.Core.IO;

namespace Lifeboat.Storage;

/// <summary>
/// The body of an object being read from an object store. Read to its end, it is checked against the SHA-256
/// written with it: a mismatch (the object was altered or damaged in the store) is an <see cref="IntegrityException"/>
/// rather than bad data. Failures of the body mid-read go through <paramref name="translate"/>.
/// </summary>
/// <param name="owner">What the body belongs to (an SDK response), disposed with it.</param>
internal sealed class VerifyingReadStream(Stream body, long length, string key, string location, string? expectedSha256,
    Func<Exception, LifeboatException?> translate, IDisposable? owner = null) : ReadOnlyStream
{
    private readonly IncrementalHash? _sha = expectedSha256 is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private bool _checked;

    public override long Length => length;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n;
        try
        {
            n = await body.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && translate(ex) is { } translated)
        {
            throw translated;
        }

        Account(buffer.Span[..n], buffer.Length);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n;
        try
        {
            n = body.Read(buffer);
        }
        catch (Exception ex) when (translate(ex) is { } translated)
        {
            throw translated;
        }

        Account(buffer[..n], buffer.Length);
        return n;
    }

    private void Account(ReadOnlySpan<byte> data, int requested)
    {
        if (_sha is null)
        {
            return;
        }

        if (data.Length > 0)
        {
            _sha.AppendData(data);
            return;
        }

        if (!_checked && requested > 0) // a read of nothing into room for something: the end
        {
            _checked = true;
            var actual = Convert.ToHexStringLower(_sha.GetHashAndReset());
            if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            {
                throw Altered(key, location);
            }
        }
    }

    /// <summary>The finding when an object's bytes do not match the hash written with them.</summary>
    public static IntegrityException Altered(string key, string location, Exception? inner = null) =>
        new($"{key} in {location} does not match the hash written with it",
            "the object was altered or damaged in the store; restore from another snapshot", inner);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            body.Dispose();
            owner?.Dispose();
            _sha?.Dispose();
        }

        base.Dispose(disposing);
    }
}
