using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lifeboat.Kubernetes.Client;

/// <summary>JSON as the Kubernetes API writes it: camelCase, nulls omitted, times in RFC 3339 UTC to the second.</summary>
public static class KubeJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new TimeConverter() },
    };

    /// <summary>metav1.Time: written as <c>2026-11-21T09:30:15Z</c>; read from any RFC 3339 form.</summary>
    private sealed class TimeConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
    }
}
