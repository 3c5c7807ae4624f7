using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Lifeboat.Core.Errors;
using Lifeboat.Core.IO;

namespace Lifeboat.Storage.Encryption;

/// <summary>
/// The encrypted object format (docs/encryption.md): AES-256-GCM over independently authenticated chunks, so that
/// objects of any size are encrypted and decrypted as streams in constant memory, and any change is detected.
/// <code>
/// header  "LBAEAD01" | key id length (1) | key id (ASCII) | chunk size (4, big-endian) | salt (32)
/// chunk   ciphertext (chunk size bytes; the last one 0..chunk size) | GCM tag (16)
/// </code>
/// Each object has its own key, HKDF-SHA256(master key, salt, "lifeboat/chunk-key/v1"), so nonces never repeat
/// across objects. A chunk's nonce is its index (8 bytes, big-endian), three zero bytes and a final flag (1 for the
/// last chunk, else 0); the whole header is the associated data of every chunk. So a reordered or repeated chunk
/// fails its tag (index), a stream cut at a chunk boundary fails (no chunk with the final flag), bytes after the
/// final chunk fail, and a changed header or key id fails every chunk.
/// </summary>
internal static class ChunkedAesGcm
{
    public const int DefaultChunkSize = 64 << 10;
    public const int TagSize = 16;
    public const int SaltSize = 32;
    public static readonly byte[] Magic = "LBAEAD01"u8.ToArray();
    private static readonly byte[] KeyInfo = "lifeboat/chunk-key/v1"u8.ToArray();

    public static byte[] Header(string keyId, int chunkSize, ReadOnlySpan<byte> salt)
    {
        var id = Encoding.ASCII.GetBytes(keyId);
        var header = new byte[Magic.Length + 1 + id.Length + 4 + SaltSize];
        Magic.CopyTo(header, 0);
        header[Magic.Length] = (byte)id.Length;
        id.CopyTo(header, Magic.Length + 1);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(Magic.Length + 1 + id.Length), chunkSize);
        salt.CopyTo(header.AsSpan(Magic.Length + 1 + id.Length + 4));
        return header;
    }

    public static AesGcm ObjectCipher(EncryptionKey key, ReadOnlySpan<byte> salt)
    {
        Span<byte> objectKey = stackalloc byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key.Material, objectKey, salt, KeyInfo);
        var cipher = new AesGcm(objectKey, TagSize);
        CryptographicOperations.ZeroMemory(objectKey);
        return cipher;
    }

    public static void Nonce(Span<byte> nonce, long index, bool final)
    {
        nonce.Clear();
        BinaryPrimitives.WriteInt64BigEndian(nonce, index);
        nonce[11] = final ? (byte)1 : (byte)0;
    }
}

/// <summary>Encrypts what is written to it into <c>inner</c>; <see cref="FinishAsync"/> writes the final chunk.</summary>
internal sealed class EncryptingStream : WriteOnlyStream
{
    private readonly Stream _inner;
    private readonly AesGcm _cipher;
    private readonly byte[] _header;
    private readonly byte[] _plain;
    private readonly byte[] _sealed;
    private int _filled;
    private long _index;
    private long _written;
    private bool _headerWritten;
    private bool _finished;

    public EncryptingStream(Stream inner, EncryptionKey key, int chunkSize = ChunkedAesGcm.DefaultChunkSize)
    {
        _inner = inner;
        Span<byte> salt = stackalloc byte[ChunkedAesGcm.SaltSize];
        RandomNumberGenerator.Fill(salt);
        _header = ChunkedAesGcm.Header(key.Id, chunkSize, salt);
        _cipher = ChunkedAesGcm.ObjectCipher(key, salt);
        _plain = new byte[chunkSize];
        _sealed = new byte[chunkSize + ChunkedAesGcm.TagSize];
    }

    public override bool CanWrite => !_finished;

    public override long Length => _written;

    public override long Position
    {
        get => _written;
        set => throw new NotSupportedException();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        while (!buffer.IsEmpty)
        {
            if (_filled == _plain.Length)
            {
                // Only now is it known that this chunk is not the last one.
                await SealAsync(final: false, cancellationToken);
            }

            var n = Math.Min(buffer.Length, _plain.Length - _filled);
            buffer[..n].CopyTo(_plain.AsMemory(_filled));
            _filled += n;
            _written += n;
            buffer = buffer[n..];
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        while (!buffer.IsEmpty)
        {
            if (_filled == _plain.Length)
            {
                Seal(final: false);
                _inner.Write(_sealed);
            }

            var n = Math.Min(buffer.Length, _plain.Length - _filled);
            buffer[..n].CopyTo(_plain.AsSpan(_filled));
            _filled += n;
            _written += n;
            buffer = buffer[n..];
        }
    }

    /// <summary>Seals the last chunk; the object is complete afterwards.</summary>
    public async Task FinishAsync(CancellationToken cancellationToken)
    {
        if (_finished)
        {
            return;
        }

        await SealAsync(final: true, cancellationToken);
        _finished = true;
    }

    private async Task SealAsync(bool final, CancellationToken cancellationToken)
    {
        if (!_headerWritten)
        {
            await _inner.WriteAsync(_header, cancellationToken);
            _headerWritten = true;
        }

        var length = Seal(final);
        await _inner.WriteAsync(_sealed.AsMemory(0, length), cancellationToken);
    }

    private int Seal(bool final)
    {
        if (!_headerWritten)
        {
            _inner.Write(_header);
            _headerWritten = true;
        }

        Span<byte> nonce = stackalloc byte[12];
        ChunkedAesGcm.Nonce(nonce, _index++, final);
        _cipher.Encrypt(nonce, _plain.AsSpan(0, _filled), _sealed.AsSpan(0, _filled), _sealed.AsSpan(_filled, ChunkedAesGcm.TagSize), _header);
        var length = _filled + ChunkedAesGcm.TagSize;
        _filled = 0;
        return length;
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _cipher.Dispose();
            CryptographicOperations.ZeroMemory(_plain);
        }

        base.Dispose(disposing);
    }
}

/// <summary>Decrypts an object written by <see cref="EncryptingStream"/>, checking every chunk before returning its bytes.</summary>
internal sealed class DecryptingStream : ReadOnlyStream
{
    private readonly Stream _inner;
    private readonly string _objectKey;
    private AesGcm? _cipher;
    private byte[] _header = [];
    private byte[] _sealed = [];
    private byte[] _plain = [];
    private int _plainOffset;
    private int _plainLength;
    private long _index;
    private int _pending = -1; // a byte read ahead to learn that the previous chunk was not the last
    private bool _end;

    private DecryptingStream(Stream inner, string objectKey)
    {
        _inner = inner;
        _objectKey = objectKey;
    }

    /// <summary>Reads and checks the header: the object must be in this format and name <paramref name="expectedKeyId"/>.</summary>
    public static async Task<DecryptingStream> OpenAsync(Stream inner, string objectKey, string expectedKeyId, KeyRing keys, CancellationToken cancellationToken)
    {
        var stream = new DecryptingStream(inner, objectKey);
        try
        {
            var fixedPart = new byte[ChunkedAesGcm.Magic.Length + 1];
            await stream.ReadHeaderPartAsync(fixedPart, cancellationToken);
            if (!fixedPart.AsSpan(0, ChunkedAesGcm.Magic.Length).SequenceEqual(ChunkedAesGcm.Magic))
            {
                throw stream.Damaged("does not start like an encrypted object");
            }

            var rest = new byte[fixedPart[^1] + 4 + ChunkedAesGcm.SaltSize];
            await stream.ReadHeaderPartAsync(rest, cancellationToken);
            var keyId = Encoding.ASCII.GetString(rest, 0, fixedPart[^1]);
            if (!string.Equals(keyId, expectedKeyId, StringComparison.Ordinal))
            {
                throw stream.Damaged($"names key {keyId} inside but {expectedKeyId} in its name");
            }

            var chunkSize = BinaryPrimitives.ReadInt32BigEndian(rest.AsSpan(fixedPart[^1]));
            if (chunkSize is < 1024 or > 16 << 20)
            {
                throw stream.Damaged($"has an impossible chunk size {chunkSize}");
            }

            var key = keys.Find(keyId, objectKey);
            stream._header = [.. fixedPart, .. rest];
            stream._cipher = ChunkedAesGcm.ObjectCipher(key, rest.AsSpan(fixedPart[^1] + 4));
            stream._sealed = new byte[chunkSize + ChunkedAesGcm.TagSize];
            stream._plain = new byte[chunkSize];
            return stream;
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    private async Task ReadHeaderPartAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        if (await _inner.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken) < buffer.Length)
        {
            throw Damaged("is shorter than its header");
        }
    }

    private IntegrityException Damaged(string what) =>
        new($"encrypted object {_objectKey} {what}", "the object was altered, damaged or cut short in the store; restore from another snapshot");

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (_plainOffset == _plainLength)
        {
            if (_end)
            {
                return 0;
            }

            await OpenNextChunkAsync(cancellationToken);
        }

        var n = Math.Min(buffer.Length, _plainLength - _plainOffset);
        _plain.AsMemory(_plainOffset, n).CopyTo(buffer);
        _plainOffset += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
#pragma warning disable VSTHRD002 // synchronous Stream API over an asynchronous body
        return ReadAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
    }

    private async Task OpenNextChunkAsync(CancellationToken cancellationToken)
    {
        var filled = 0;
        if (_pending >= 0)
        {
            _sealed[0] = (byte)_pending;
            filled = 1;
            _pending = -1;
        }

        filled += await _inner.ReadAtLeastAsync(_sealed.AsMemory(filled), _sealed.Length - filled, throwOnEndOfStream: false, cancellationToken);
        var final = filled < _sealed.Length;
        if (!final)
        {
            var one = new byte[1];
            if (await _inner.ReadAsync(one, cancellationToken) == 1)
            {
                _pending = one[0];
            }
            else
            {
                final = true;
            }
        }

        if (filled < ChunkedAesGcm.TagSize)
        {
            throw Damaged($"is cut short in chunk {_index}");
        }

        var length = filled - ChunkedAesGcm.TagSize;
        Span<byte> nonce = stackalloc byte[12];
        ChunkedAesGcm.Nonce(nonce, _index, final);
        try
        {
            _cipher!.Decrypt(nonce, _sealed.AsSpan(0, length), _sealed.AsSpan(length, ChunkedAesGcm.TagSize), _plain.AsSpan(0, length), _header);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw Damaged(final
                ? $"fails authentication at chunk {_index}, the last one read (cut short, altered, or not written with this key)"
                : $"fails authentication at chunk {_index} (altered, reordered, or not written with this key)");
        }

        _index++;
        _plainOffset = 0;
        _plainLength = length;
        _end = final;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _cipher?.Dispose();
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
