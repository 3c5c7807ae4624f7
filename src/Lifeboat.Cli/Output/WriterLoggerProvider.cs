using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Lifeboat.Cli.Output;

/// <summary>
/// One-line log records on a <see cref="TextWriter"/> (standard error), each with its UTC time to the millisecond:
/// plain text for people, or JSON lines with the same fields as ASP.NET's JSON console (Timestamp, EventId, LogLevel,
/// Category, Message) for a log collector, as the long-running commands write off a terminal.
/// </summary>
internal sealed class WriterLoggerProvider(TextWriter writer, TimeProvider time, bool json = false) : ILoggerProvider
{
    /// <summary>The timestamp format of every log line Lifeboat writes (also given to ASP.NET's console loggers).</summary>
    public const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";

    public ILogger CreateLogger(string categoryName) => new WriterLogger(writer, time, json, categoryName);

    public void Dispose()
    {
    }

    private sealed class WriterLogger(TextWriter writer, TimeProvider time, bool json, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var now = time.GetUtcNow().ToString(TimestampFormat.TrimEnd(), CultureInfo.InvariantCulture);
            var message = formatter(state, exception);
            string line;
            if (json)
            {
                line = JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["Timestamp"] = now,
                    ["EventId"] = eventId.Id,
                    ["LogLevel"] = logLevel.ToString(),
                    ["Category"] = category,
                    ["Message"] = message,
                    ["Exception"] = exception?.ToString(),
                });
            }
            else
            {
                var level = logLevel switch
                {
                    LogLevel.Warning => "warn",
                    LogLevel.Error or LogLevel.Critical => "error",
                    LogLevel.Information => "info",
                    _ => "debug",
                };
                line = $"{now} {level}: {message}";
            }

            lock (writer)
            {
                writer.WriteLine(line);
            }
        }
    }
}
