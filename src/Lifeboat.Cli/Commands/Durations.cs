using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Lifeboat.Cli.Commands;

/// <summary>
/// Durations as etcdctl and etcd-backup-restore read them (Go's time.ParseDuration), plus days: <c>300ms</c>, <c>5s</c>,
/// <c>1m30s</c>, <c>1.5h</c>, <c>7d</c>. A unit is required: a bare <c>5</c> is refused rather than guessed (it used to
/// be read as five days).
/// </summary>
internal static partial class Durations
{
    public const string Examples = "300ms, 5s, 5m, 1h30m or 7d";

    [GeneratedRegex(@"\G(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d)", RegexOptions.CultureInvariant)]
    private static partial Regex Part();

    /// <summary>Parses an option's value; on failure adds the error to the parse (one line) and returns null.</summary>
    public static TimeSpan? Parse(ArgumentResult result, TimeSpan min)
    {
        var text = Values.Token(result);
        var name = Values.OptionName(result);
        if (!TryParse(text, out var value))
        {
            result.AddError(Describe(name, text));
            return null;
        }

        if (value < min)
        {
            result.AddError($"{name} {text} is too short: it must be at least {Format(min)}");
            return null;
        }

        return value;
    }

    /// <summary>The one-line error for a value that is not a duration.</summary>
    public static string Describe(string name, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            ? $"{name} '{text}' has no unit: write it like {Examples}"
            : $"{name} '{text}' is not a duration: write it like {Examples}";

    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        text = text.Trim();
        if (text.Length == 0)
        {
            return false;
        }

        if (text == "0")
        {
            return true; // Go accepts a bare zero: no unit is needed to say "none"
        }

        var seconds = 0.0;
        var at = 0;
        var regex = Part();
        while (at < text.Length)
        {
            var match = regex.Match(text, at);
            if (!match.Success)
            {
                return false;
            }

            var n = double.Parse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
            seconds += n * match.Groups[2].Value switch
            {
                "ms" => 1e-3,
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                _ => 86400,
            };
            at += match.Length;
        }

        if (seconds > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            return false;
        }

        value = TimeSpan.FromSeconds(seconds);
        return true;
    }

    /// <summary>The shortest exact spelling: <c>5m</c>, <c>1h30m</c>, <c>300ms</c>.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        var parts = new List<string>();
        if (value.Days > 0)
        {
            parts.Add(value.Days.ToString(CultureInfo.InvariantCulture) + "d");
        }

        if (value.Hours > 0)
        {
            parts.Add(value.Hours.ToString(CultureInfo.InvariantCulture) + "h");
        }

        if (value.Minutes > 0)
        {
            parts.Add(value.Minutes.ToString(CultureInfo.InvariantCulture) + "m");
        }

        if (value.Seconds > 0)
        {
            parts.Add(value.Seconds.ToString(CultureInfo.InvariantCulture) + "s");
        }

        if (value.Milliseconds > 0)
        {
            parts.Add(value.Milliseconds.ToString(CultureInfo.InvariantCulture) + "ms");
        }

        return string.Concat(parts);
    }
}
