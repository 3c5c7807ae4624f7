using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lifeboat.Cli.Commands;
using YamlDotNet.Serialization;

namespace Lifeboat.Cli.Output;

internal enum OutputFormat
{
    Text,
    Table,
    Json,
    Yaml,
}

/// <summary>The <c>-o/--output</c> option every command shares, and how its structured forms are written.</summary>
internal static class OutputFormats
{
    private static readonly ISerializer YamlWriter = new SerializerBuilder().WithQuotingNecessaryStrings().Build();

    /// <param name="human">The human-readable form: text, or table for listings.</param>
    public static Option<OutputFormat> Option(OutputFormat human = OutputFormat.Text) => new Option<OutputFormat>("--output", "-o")
    {
        Description = "Output format",
        DefaultValueFactory = _ => human,
    }.OneOf(human, OutputFormat.Json, OutputFormat.Yaml);

    /// <summary>JSON or YAML: machine-readable output on standard output, progress and steps on standard error.</summary>
    public static bool IsStructured(this OutputFormat format) => format is OutputFormat.Json or OutputFormat.Yaml;

    /// <summary>Writes <paramref name="value"/> as JSON (camelCase, enums as strings) or as the same document in YAML.</summary>
    public static async Task WriteAsync(TextWriter output, OutputFormat format, object? value)
    {
        var json = JsonSerializer.Serialize(value, EtcdCommands.Json);
        if (format == OutputFormat.Yaml)
        {
            await output.WriteAsync(YamlWriter.Serialize(Plain(JsonNode.Parse(json))));
            return;
        }

        await output.WriteLineAsync(json);
    }

    /// <summary>JSON as plain maps, lists and scalars, which the YAML serializer writes with the same names and values.</summary>
    private static object? Plain(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(p => p.Key, p => Plain(p.Value)),
        JsonArray a => a.Select(Plain).ToList(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => v.TryGetValue<long>(out var whole) ? whole : v.GetValue<double>(),
            _ => null,
        },
        _ => null,
    };
}
