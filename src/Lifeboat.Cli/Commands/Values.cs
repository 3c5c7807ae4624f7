using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Lifeboat.Cli.Commands;

/// <summary>
/// Parsers for every typed option value, so that a bad value is one line naming the flag, the value and how to write
/// it — never System.CommandLine's "Cannot parse argument … as expected type 'System.Nullable`1[System.Int64]'", and
/// never an exception from a later <c>GetValue</c> on a value that did not parse.
/// </summary>
internal static class Values
{
    /// <summary>A whole number in [min, max]; on error the option reads as <paramref name="min"/> (the parse already failed).</summary>
    public static Option<long> Integer(this Option<long> option, long min = 0, long max = long.MaxValue)
    {
        option.CustomParser = r => ParseInteger(r, min, max) ?? min;
        return option;
    }

    public static Option<int> Integer(this Option<int> option, int min = 0, int max = int.MaxValue)
    {
        option.CustomParser = r => (int)(ParseInteger(r, min, max) ?? min);
        return option;
    }

    public static Option<long?> Integer(this Option<long?> option, long min = 0, long max = long.MaxValue)
    {
        option.CustomParser = r => ParseInteger(r, min, max);
        return option;
    }

    public static Option<int?> Integer(this Option<int?> option, int min = 0, int max = int.MaxValue)
    {
        option.CustomParser = r => (int?)ParseInteger(r, min, max);
        return option;
    }

    /// <summary>A point in time, UTC unless it names its offset, e.g. 2026-11-21T09:30:00Z.</summary>
    public static Option<DateTimeOffset?> Instant(this Option<DateTimeOffset?> option)
    {
        option.HelpName ??= "time";
        option.CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
            {
                return t;
            }

            r.AddError($"{option.Name} '{text}' is not a time: write it like 2026-11-21T09:30:00Z");
            return null;
        };
        return option;
    }

    /// <summary>A duration with a unit (see <see cref="Durations"/>), at least <paramref name="min"/>.</summary>
    public static Option<TimeSpan> Duration(this Option<TimeSpan> option, TimeSpan? min = null)
    {
        option.HelpName ??= "duration";
        option.CustomParser = r => Durations.Parse(r, min ?? TimeSpan.Zero) ?? default;
        return option;
    }

    public static Option<TimeSpan?> Duration(this Option<TimeSpan?> option, TimeSpan? min = null)
    {
        option.HelpName ??= "duration";
        option.CustomParser = r => Durations.Parse(r, min ?? TimeSpan.Zero);
        return option;
    }

    /// <summary>
    /// A duration option's default from an environment variable: a bad value there is a usage error naming the variable,
    /// never silently replaced by the built-in default.
    /// </summary>
    public static TimeSpan DurationFromEnvironment(ArgumentResult result, string variable, TimeSpan fallback)
    {
        if (Environment.GetEnvironmentVariable(variable) is not { Length: > 0 } text)
        {
            return fallback;
        }

        if (Durations.TryParse(text, out var value))
        {
            return value;
        }

        result.AddError(Durations.Describe(variable, text));
        return fallback;
    }

    /// <summary>One of an enum's names, written in lower case (<c>-o json</c>); the help lists them.</summary>
    public static Option<T> OneOf<T>(this Option<T> option, params T[] allowed)
        where T : struct, Enum
    {
        var names = Names(allowed);
        option.HelpName = string.Join('|', names.Keys);
        option.CustomParser = r => ParseChoice(r, names) ?? default;
        option.CompletionSources.Add(names.Keys.ToArray());
        return option;
    }

    public static Option<T?> OneOf<T>(this Option<T?> option, params T[] allowed)
        where T : struct, Enum
    {
        var names = Names(allowed);
        option.HelpName = string.Join('|', names.Keys);
        option.CustomParser = r => ParseChoice(r, names);
        option.CompletionSources.Add(names.Keys.ToArray());
        return option;
    }

    /// <summary>The name a user writes for an enum value: its name in lower case.</summary>
    /// <summary>etcd cluster ids as Lifeboat prints them: up to 16 hex digits each.</summary>
    public static Option<ulong[]> ClusterIds(this Option<ulong[]> option)
    {
        option.HelpName ??= "cluster-id";
        option.CustomParser = r =>
        {
            var ids = new List<ulong>();
            foreach (var token in r.Tokens)
            {
                if (token.Value.Length is < 1 or > 16
                    || !ulong.TryParse(token.Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id))
                {
                    r.AddError($"{OptionName(r)} '{token.Value}' is not an etcd cluster id: write its 16 hex digits, as the refusal names it (e.g. cdf818194e3a8c32)");
                    return [];
                }

                ids.Add(id);
            }

            return [.. ids];
        };
        return option;
    }

    public static string Name<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();

    private static Dictionary<string, T> Names<T>(T[] allowed)
        where T : struct, Enum =>
        (allowed.Length > 0 ? allowed : Enum.GetValues<T>()).ToDictionary(Name, v => v, StringComparer.Ordinal);

    private static T? ParseChoice<T>(ArgumentResult result, Dictionary<string, T> names)
        where T : struct, Enum
    {
        var text = Token(result);
        if (names.TryGetValue(text.ToLowerInvariant(), out var value))
        {
            return value;
        }

        result.AddError($"{OptionName(result)} '{text}' is not one of {string.Join(", ", names.Keys)}");
        return null;
    }

    private static long? ParseInteger(ArgumentResult result, long min, long max)
    {
        var text = Token(result);
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            if (text.Length > 0 && text.TrimStart('-').All(char.IsAsciiDigit))
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"{OptionName(result)} {text} is out of range: it must be at most {max}"));
                return null;
            }

            result.AddError(string.Create(CultureInfo.InvariantCulture,
                $"{OptionName(result)} '{text}' is not a whole number{(max == long.MaxValue ? "" : $" up to {max}")}: write it like {Math.Max(min, 1)}"));
            return null;
        }

        if (value < min || value > max)
        {
            result.AddError(string.Create(CultureInfo.InvariantCulture,
                $"{OptionName(result)} {value} is out of range: it must be {(max == long.MaxValue || max == int.MaxValue ? $"at least {min}" : $"between {min} and {max}")}"));
            return null;
        }

        return value;
    }

    internal static string Token(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[0].Value : "";

    internal static string OptionName(ArgumentResult result) => result.Parent is OptionResult o ? o.Option.Name : result.Argument.Name;
}
