namespace Lifeboat.Core.Storage;

/// <summary>Rules for store keys shared by every store, so that a key valid in one store is valid in all.</summary>
public static class StoreKey
{
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
