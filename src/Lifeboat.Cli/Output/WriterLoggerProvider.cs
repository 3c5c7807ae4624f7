using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Lifeboat.Cli.Output;

/// <summary>Plain one-line log records on a <see cref="TextWriter"/> (standard error for one-shot commands).</summary>
internal sealed class WriterLoggerProvider(TextWriter writer, TimeProvider time) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new WriterLogger(writer, time);

    public void Dispose()
    {
    }

    private sealed class WriterLogger(TextWriter writer, TimeProvider time) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var level = logLevel switch
            {
                LogLevel.Warning => "warn",
                LogLevel.Error or LogLevel.Critical => "error",
                LogLevel.Information => "info",
                _ => "debug",
            };
            var line = string.Create(CultureInfo.InvariantCulture, $"{time.GetUtcNow():HH:mm:ss} {level}: {formatter(state, exception)}");
            lock (writer)
            {
                writer.WriteLine(line);
            }
        }
    }
}
