using System.Globalization;

namespace Lifeboat.Kubernetes.Models;

/// <summary>
/// A resource quantity as the API writes it (<c>10Gi</c>, <c>500M</c>, <c>1.5Gi</c>, <c>1e9</c>, <c>100m</c>): a
/// decimal number with a binary (Ki…Ei), decimal (n, u, m, k, M…E) or exponent suffix.
/// </summary>
public readonly record struct Quantity(decimal Value)
{
    private static readonly (string Suffix, decimal Factor)[] Suffixes =
    [
        ("Ki", 1024m), ("Mi", 1024m * 1024), ("Gi", 1024m * 1024 * 1024), ("Ti", 1024m * 1024 * 1024 * 1024),
        ("Pi", 1024m * 1024 * 1024 * 1024 * 1024), ("Ei", 1024m * 1024 * 1024 * 1024 * 1024 * 1024),
        ("n", 0.000000001m), ("u", 0.000001m), ("m", 0.001m), ("k", 1e3m), ("M", 1e6m), ("G", 1e9m), ("T", 1e12m), ("P", 1e15m), ("E", 1e18m),
    ];

    /// <summary>Whole bytes, rounded up (as the API rounds quantities of storage).</summary>
    public long Bytes => (long)decimal.Ceiling(Value);

    public static Quantity Parse(string text)
    {
        if (TryParse(text, out var quantity))
        {
            return quantity;
        }

        throw new FormatException($"'{text}' is not a Kubernetes quantity (e.g. 10Gi, 500M, 1.5Ti)");
    }

    public static bool TryParse(string? text, out Quantity quantity)
    {
        quantity = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        var factor = 1m;
        var number = text;
        var exponent = text.IndexOfAny(['e', 'E']);
        if (exponent > 0 && int.TryParse(text.AsSpan(exponent + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var power)
            && power is >= -18 and <= 18)
        {
            number = text[..exponent];
            factor = Pow10(power);
        }
        else
        {
            foreach (var (suffix, value) in Suffixes)
            {
                if (text.EndsWith(suffix, StringComparison.Ordinal) && text.Length > suffix.Length)
                {
                    number = text[..^suffix.Length];
                    factor = value;
                    break;
                }
            }
        }

        if (number.Length == 0 || !char.IsAsciiDigit(number[^1])
            || !decimal.TryParse(number, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var parsed))
        {
            return false;
        }

        try
        {
            quantity = new Quantity(parsed * factor);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    public static Quantity FromBytes(long bytes) => new(bytes);

    /// <summary>The canonical binary form when it is exact (<c>10Gi</c>), else plain bytes.</summary>
    public override string ToString()
    {
        if (Value != decimal.Truncate(Value))
        {
            return Value.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var (suffix, factor) in Suffixes.Take(6).Reverse())
        {
            if (Value != 0 && Value % factor == 0)
            {
                return (Value / factor).ToString(CultureInfo.InvariantCulture) + suffix;
            }
        }

        return Value.ToString(CultureInfo.InvariantCulture);
    }

    private static decimal Pow10(int power)
    {
        var result = 1m;
        for (var i = 0; i < Math.Abs(power); i++)
        {
            result = power > 0 ? result * 10 : result / 10;
        }

        return result;
    }
}
