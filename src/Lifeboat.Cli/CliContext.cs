using Lifeboat.Cli.Output;
using Microsoft.Extensions.Logging;

namespace Lifeboat.Cli;

/// <summary>What every command handler gets: where to write, whether a person is watching, the clock and logging.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error, bool interactive, TimeProvider time) : IDisposable
{
    private ILoggerFactory? _loggers;

    public TextWriter Output { get; } = output;
    public TextWriter Error { get; } = error;

    /// <summary>True when standard error is a terminal: progress bars instead of plain progress lines.</summary>
    public bool Interactive { get; } = interactive;

    public TimeProvider Time { get; } = time;

    public bool Verbose { get; set; }

    /// <summary>
    /// Set by commands that run until stopped (<c>etcd run</c>): their logs include information records and are JSON
    /// lines when standard error is not a terminal, like the sidecar's. Set it before the first use of <see cref="Loggers"/>.
    /// </summary>
    public bool LongRunning { get; set; }

    public ILoggerFactory Loggers => _loggers ??= LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(Verbose ? LogLevel.Debug : LongRunning ? LogLevel.Information : LogLevel.Warning);
        builder.AddProvider(new WriterLoggerProvider(Error, Time, json: LongRunning && !Interactive));
    });

    public void Dispose() => _loggers?.Dispose();
}
