using System.Security.Cryptography;
using System.Text;
using Lifeboat.Core.Errors;

namespace Lifeboat.Storage.Encryption;

/// <summary>
/// A 256-bit key for encrypting stored objects, loaded from a file: 32 bytes of binary are the key itself (e.g.
/// <c>head -c 32 /dev/urandom</c>), and so are 64 hex digits (<c>openssl rand -hex 32</c>); any other text is a
/// passphrase (at least 16 characters, surrounding whitespace ignored) stretched into a key with PBKDF2-HMAC-SHA256.
/// A 32-byte file that is all printable text is a passphrase, not a key: a random key is all printable with a
/// chance of about 10⁻¹⁴, while a 32-character passphrase is common. The key's <see cref="Id"/> is derived from it, so the same
/// file always gives the same id and a different key never matches; the id is all that is ever shown or stored.
/// </summary>
public sealed class EncryptionKey
{
    public const int Length = 32;
    public const int MinimumPassphraseLength = 16;

    /// <summary>PBKDF2 work factor (OWASP's 2023 figure for HMAC-SHA256); paid once per process.</summary>
    internal const int PassphraseIterations = 600_000;

    private static readonly byte[] PassphraseSalt = "lifeboat/passphrase/v1"u8.ToArray();
    private static readonly byte[] IdLabel = "lifeboat/key-id/v1"u8.ToArray();
    private readonly byte[] _material;

    private EncryptionKey(byte[] material, string source)
    {
        _material = material;
        Source = source;
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData([.. IdLabel, .. material], digest);
        Id = Convert.ToHexStringLower(digest[..8]);
    }

    /// <summary>16 hex digits naming the key in object names and messages; reveals nothing usable about the key.</summary>
    public string Id { get; }

    /// <summary>The file it came from, for messages.</summary>
    public string Source { get; }

    internal ReadOnlySpan<byte> Material => _material;

    public override string ToString() => $"key {Id} ({Source})";

    /// <summary>Loads a key file.</summary>
    /// <exception cref="ArgumentException">The file is missing, unreadable, empty or a too-short passphrase.</exception>
    public static EncryptionKey Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"cannot read the key file {path}: {ex.Message}; check the path and its permissions", ex);
        }

        if (bytes.Length == Length && !bytes.All(b => b is >= 0x20 and < 0x7F or (byte)'\t' or (byte)'\r' or (byte)'\n'))
        {
            return new EncryptionKey(bytes, path);
        }

        var passphrase = Encoding.UTF8.GetString(bytes).Trim();
        CryptographicOperations.ZeroMemory(bytes);
        if (passphrase.Length == 2 * Length && passphrase.All(char.IsAsciiHexDigit))
        {
            return new EncryptionKey(Convert.FromHexString(passphrase), path);
        }

        if (passphrase.Length < MinimumPassphraseLength)
        {
            throw new ArgumentException(
                $"the key file {path} holds neither a 32-byte key nor a passphrase of at least {MinimumPassphraseLength} characters; " +
                "create a key with: head -c 32 /dev/urandom > key");
        }

        return FromPassphrase(passphrase, path);
    }

    internal static EncryptionKey FromPassphrase(string passphrase, string source) =>
        new(Rfc2898DeriveBytes.Pbkdf2(passphrase, PassphraseSalt, PassphraseIterations, HashAlgorithmName.SHA256, Length), source);

    internal static EncryptionKey FromBytes(byte[] material, string source = "memory") =>
        material.Length == Length ? new EncryptionKey(material, source) : throw new ArgumentException("A key is 32 bytes.", nameof(material));
}

/// <summary>The keys a process holds: the one new objects are encrypted with, and every one old objects may need.</summary>
public sealed class KeyRing
{
    private readonly Dictionary<string, EncryptionKey> _byId = new(StringComparer.Ordinal);

    /// <param name="writeKey">Encrypts new objects; null writes them unencrypted.</param>
    /// <param name="readKeys">Further keys for reading older objects (after a rotation).</param>
    public KeyRing(EncryptionKey? writeKey, IEnumerable<EncryptionKey> readKeys)
    {
        ArgumentNullException.ThrowIfNull(readKeys);
        WriteKey = writeKey;
        foreach (var key in readKeys.Prepend(writeKey))
        {
            if (key is not null)
            {
                _byId.TryAdd(key.Id, key);
            }
        }
    }

    public EncryptionKey? WriteKey { get; }

    /// <summary>Ids of every key held, for /config and messages.</summary>
    public IReadOnlyCollection<string> Ids => _byId.Keys;

    public bool IsEmpty => _byId.Count == 0;

    /// <summary>The key with <paramref name="id"/>.</summary>
    /// <exception cref="KeyUnavailableException">No key held has that id.</exception>
    public EncryptionKey Find(string id, string objectKey) =>
        _byId.TryGetValue(id, out var key)
            ? key
            : throw new KeyUnavailableException(
                _byId.Count == 0
                    ? $"{objectKey} is encrypted with key {id}, and no key was given"
                    : $"{objectKey} is encrypted with key {id}, which is none of the keys given ({string.Join(", ", _byId.Keys)})",
                "pass the file of the key it was written with as --decryption-key-file (or --encryption-key-file)");
}
