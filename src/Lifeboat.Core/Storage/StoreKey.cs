namespace Lifeboat.Core.Storage;

/// <summary>Rules for store keys shared by every store, so that a key valid in one store is valid in all.</summary>
public static class StoreKey
{
    /// <summary>What client-side encryption appends to a key: <c>.enc-&lt;key id&gt;</c>.</summary>
    public const string EncryptionMarker = ".enc-";

    /// <summary>The key as written, without the <c>.enc-&lt;key id&gt;</c> suffix encryption added (unchanged when there is none).</summary>
    public static string WithoutEncryption(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var at = key.LastIndexOf(EncryptionMarker, StringComparison.Ordinal);
        if (at < 0 || key.IndexOf('/', at) >= 0)
        {
            return key;
        }

        var id = key.AsSpan(at + EncryptionMarker.Length);
        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return key;
            }
        }

        return id.Length > 0 ? key[..at] : key;
    }

    /// <summary>
    /// Throws unless <paramref name="key"/> is one or more <c>/</c>-separated segments of ASCII letters, digits,
    /// <c>.</c>, <c>_</c> and <c>-</c>, none empty and none starting with <c>.</c> (reserved for a store's own
    /// temporary objects).
    /// </summary>
    public static void Validate(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!IsValid(key))
        {
            throw new ArgumentException($"'{key}' is not a valid store key.", nameof(key));
        }
    }

    public static bool IsValid(string key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 900)
        {
            return false;
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0 || segment[0] == '.')
            {
                return false;
            }

            foreach (var c in segment)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
                {
                    return false;
                }
            }
        }

        return true;
    }
}
