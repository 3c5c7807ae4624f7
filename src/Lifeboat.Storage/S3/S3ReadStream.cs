using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3.Model;
using Lifeboat.Core.Errors;
using Lifeboat.Core.IO;

namespace Lifeboat.Storage.S3;

/// <summary>
/// The body of an object being read. Read to its end, it is checked against the SHA-256 written with it: a mismatch
/// (the object was altered or damaged in the store) is an <see cref="IntegrityException"/> rather than bad data.
/// Network failures mid-read are <see cref="StoreException"/>s.
/// </summary>
internal sealed class S3ReadStream(GetObjectResponse response, string key, S3Store store, string? expectedSha256) : ReadOnlyStream
{
    private readonly Stream _body = response.ResponseStream;
    private readonly IncrementalHash? _sha = expectedSha256 is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private bool _checked;

    public override long Length => response.ContentLength;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n;
        try
        {
            n = await _body.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && Translate(ex) is { } translated)
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
            n = _body.Read(buffer);
        }
        catch (Exception ex) when (Translate(ex) is { } translated)
        {
            throw translated;
        }

        Account(buffer[..n], buffer.Length);
        return n;
    }

    /// <summary>The SDK checks the MD5 of objects uploaded in one piece itself; its mismatch is the same finding as ours.</summary>
    private LifeboatException? Translate(Exception ex) => ex is AmazonClientException && ex.Message.Contains("hash", StringComparison.OrdinalIgnoreCase)
        ? Altered(ex)
        : store.Translate(ex, $"read {key}", key);

    private IntegrityException Altered(Exception? inner = null) =>
        new($"{key} in {store.Location} does not match the hash written with it",
            "the object was altered or damaged in the store; restore from another snapshot", inner);

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
                throw Altered();
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _body.Dispose();
            response.Dispose();
            _sha?.Dispose();
        }

        base.Dispose(disposing);
    }
}
