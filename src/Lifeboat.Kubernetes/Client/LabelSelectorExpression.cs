namespace Lifeboat.Kubernetes.Client;

/// <summary>
/// A parsed label selector in the API's string form: <c>a=b</c>, <c>a==b</c>, <c>a!=b</c>, <c>a in (x,y)</c>,
/// <c>a notin (x)</c>, <c>a</c> (exists), <c>!a</c> (does not exist), joined by commas (all must hold). Used to
/// reject a bad <c>-l</c> before any request, and by the test API server to filter as the real one does.
/// </summary>
public sealed class LabelSelectorExpression
{
    private readonly List<Requirement> _requirements;

    private LabelSelectorExpression(List<Requirement> requirements) => _requirements = requirements;

    public static LabelSelectorExpression Everything { get; } = new([]);

    /// <exception cref="FormatException">Not a valid selector; the message says where.</exception>
    public static LabelSelectorExpression Parse(string? selector)
    {
        if (string.IsNullOrWhiteSpace(selector))
        {
            return Everything;
        }

        var requirements = new List<Requirement>();
        foreach (var part in SplitTopLevel(selector))
        {
            var term = part.Trim();
            if (term.Length == 0)
            {
                throw new FormatException($"label selector '{selector}' has an empty term");
            }

            requirements.Add(ParseTerm(term, selector));
        }

        return new LabelSelectorExpression(requirements);
    }

    public bool Matches(IReadOnlyDictionary<string, string>? labels)
    {
        labels ??= new Dictionary<string, string>();
        return _requirements.All(r => r.Matches(labels));
    }

    private static Requirement ParseTerm(string term, string selector)
    {
        if (term.StartsWith('!'))
        {
            return new Requirement(Key(term[1..].Trim(), selector), Op.NotExists, []);
        }

        foreach (var (token, op) in new[] { (" notin ", Op.NotIn), (" in ", Op.In) })
        {
            var at = term.IndexOf(token, StringComparison.Ordinal);
            if (at > 0)
            {
                var list = term[(at + token.Length)..].Trim();
                if (!list.StartsWith('(') || !list.EndsWith(')'))
                {
                    throw new FormatException($"label selector '{selector}': the values of '{term}' must be in parentheses");
                }

                var values = list[1..^1].Split(',', StringSplitOptions.TrimEntries).Select(v => Value(v, selector)).ToHashSet(StringComparer.Ordinal);
                return new Requirement(Key(term[..at].Trim(), selector), op, values);
            }
        }

        foreach (var (token, op) in new[] { ("!=", Op.NotEquals), ("==", Op.Equals), ("=", Op.Equals) })
        {
            var at = term.IndexOf(token, StringComparison.Ordinal);
            if (at >= 0)
            {
                return new Requirement(Key(term[..at].Trim(), selector), op, [Value(term[(at + token.Length)..].Trim(), selector)]);
            }
        }

        return new Requirement(Key(term, selector), Op.Exists, []);
    }

    private static string Key(string key, string selector)
    {
        var name = key.Contains('/', StringComparison.Ordinal) ? key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..] : key;
        if (name.Length is 0 or > 63 || !char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1])
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new FormatException($"label selector '{selector}': '{key}' is not a valid label key");
        }

        return key;
    }

    private static string Value(string value, string selector)
    {
        if (value.Length > 63 || (value.Length > 0 && (!char.IsAsciiLetterOrDigit(value[0]) || !char.IsAsciiLetterOrDigit(value[^1])
            || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))))
        {
            throw new FormatException($"label selector '{selector}': '{value}' is not a valid label value");
        }

        return value;
    }

    /// <summary>Splits on commas outside parentheses.</summary>
    private static IEnumerable<string> SplitTopLevel(string selector)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < selector.Length; i++)
        {
            depth += selector[i] == '(' ? 1 : selector[i] == ')' ? -1 : 0;
            if (selector[i] == ',' && depth == 0)
            {
                yield return selector[start..i];
                start = i + 1;
            }
        }

        yield return selector[start..];
    }

    private enum Op
    {
        Equals,
        NotEquals,
        In,
        NotIn,
        Exists,
        NotExists,
    }

    private sealed record Requirement(string Key, Op Operator, HashSet<string> Values)
    {
        public bool Matches(IReadOnlyDictionary<string, string> labels)
        {
            var has = labels.TryGetValue(Key, out var value);
            return Operator switch
            {
                Op.Equals or Op.In => has && Values.Contains(value!),
                Op.NotEquals or Op.NotIn => !has || !Values.Contains(value!),
                Op.Exists => has,
                Op.NotExists => !has,
                _ => false,
            };
        }
    }
}
