using System.Globalization;
using System.Text;

namespace Lifeboat.Core.Snapshots;

/// <summary>
/// Owns the keys of etcd snapshots in a store:
/// <c>etcd/&lt;kind&gt;-&lt;first&gt;-&lt;last&gt;-&lt;yyyyMMddTHHmmssZ&gt;[-&lt;cluster id, 16 hex&gt;].&lt;db|delta&gt;[.gz|.zst][.enc-&lt;keyid&gt;]</c>.
/// </summary>
/// <remarks>
/// Revisions are zero-padded to 12 digits so that a plain directory listing reads in order for any realistic
/// revision; parsing accepts longer numbers. Keys that do not parse are not snapshots and are ignored by listings,
/// which is what keeps temporary and foreign files out of a chain.
/// </remarks>
public static class SnapshotLayout
{
    /// <summary>The key prefix under which all etcd snapshots live.</summary>
    public const string Prefix = "etcd/";

    private const string TimeFormat = "yyyyMMdd'T'HHmmss'Z'";
    private const string EncryptionMarker = ".enc-";
    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    public static string ToKey(SnapshotName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var sb = new StringBuilder(Prefix);
        sb.Append(name.Kind == SnapshotKind.Full ? "full" : "delta")
          .Append('-').Append(name.FirstRevision.ToString("D12", CultureInfo.InvariantCulture))
          .Append('-').Append(name.LastRevision.ToString("D12", CultureInfo.InvariantCulture))
          .Append('-').Append(name.CreatedAt.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture));
        if (name.ClusterId is { } cluster)
        {
            sb.Append('-').Append(cluster.ToString("x16", CultureInfo.InvariantCulture));
        }

        sb.Append(name.Kind == SnapshotKind.Full ? ".db" : ".delta");
        sb.Append(Codecs.SnapshotCodec.Suffix(name.Compression));

        if (name.EncryptionKeyId is { } keyId)
        {
            if (keyId.Length == 0 || !keyId.All(char.IsAsciiLetterOrDigit))
            {
                throw new ArgumentException("Encryption key ids are ASCII letters and digits only.", nameof(name));
            }

            sb.Append(EncryptionMarker).Append(keyId);
        }

        return sb.ToString();
    }

    /// <summary>Parses a store key; false for anything that is not an etcd snapshot key written by <see cref="ToKey"/>.</summary>
    public static bool TryParse(string key, out SnapshotName name)
    {
        ArgumentNullException.ThrowIfNull(key);
        name = null!;
        if (!key.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = key.AsSpan(Prefix.Length);
        string? keyId = null;
        var enc = rest.IndexOf(EncryptionMarker, StringComparison.Ordinal);
        if (enc >= 0)
        {
            var id = rest[(enc + EncryptionMarker.Length)..];
            if (id.Length == 0 || !id.ToString().All(char.IsAsciiLetterOrDigit))
            {
                return false;
            }

            keyId = id.ToString();
            rest = rest[..enc];
        }

        var compression = Compression.None;
        foreach (var candidate in (ReadOnlySpan<Compression>)[Compression.Gzip, Compression.Zstd])
        {
            var suffix = Codecs.SnapshotCodec.Suffix(candidate);
            if (rest.EndsWith(suffix, StringComparison.Ordinal))
            {
                compression = candidate;
                rest = rest[..^suffix.Length];
                break;
            }
        }

        SnapshotKind kind;
        if (rest.StartsWith("full-", StringComparison.Ordinal) && rest.EndsWith(".db", StringComparison.Ordinal))
        {
            kind = SnapshotKind.Full;
            rest = rest[5..^3];
        }
        else if (rest.StartsWith("delta-", StringComparison.Ordinal) && rest.EndsWith(".delta", StringComparison.Ordinal))
        {
            kind = SnapshotKind.Delta;
            rest = rest[6..^6];
        }
        else
        {
            return false;
        }

        Span<Range> parts = stackalloc Range[5];
        var count = rest.Split(parts, '-');
        ulong? clusterId = null;
        if (count == 4)
        {
            var hex = rest[parts[3]];
            if (hex.Length != 16 || hex.ContainsAnyExcept(LowerHex)
                || !ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var parsed))
            {
                return false;
            }

            clusterId = parsed;
        }
        else if (count != 3)
        {
            return false;
        }

        if (!TryParseRevision(rest[parts[0]], out var first) || !TryParseRevision(rest[parts[1]], out var last)
            || !DateTime.TryParseExact(rest[parts[2]], TimeFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var created))
        {
            return false;
        }

        var createdAt = new DateTimeOffset(created, TimeSpan.Zero);
        if (kind == SnapshotKind.Full ? first != 0 || last < 1 : first < 1 || last < first)
        {
            return false;
        }

        name = new SnapshotName(kind, first, last, createdAt, compression, keyId) { ClusterId = clusterId };
        return true;
    }

    private static bool TryParseRevision(ReadOnlySpan<char> s, out long value)
    {
        value = 0;
        return s.Length > 0 && s.Length <= 19 && s.ContainsOnlyDigits()
            && long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    private static bool ContainsOnlyDigits(this ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Chain order: by last revision; at the same revision a delta (the end of the older chain) comes before a full
    /// snapshot (the start of a newer one); then by creation time.
    /// </summary>
    public static int CompareChainOrder(SnapshotName a, SnapshotName b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var c = a.LastRevision.CompareTo(b.LastRevision);
        if (c != 0)
        {
            return c;
        }

        c = (a.Kind == SnapshotKind.Full).CompareTo(b.Kind == SnapshotKind.Full);
        return c != 0 ? c : a.CreatedAt.CompareTo(b.CreatedAt);
    }
}
