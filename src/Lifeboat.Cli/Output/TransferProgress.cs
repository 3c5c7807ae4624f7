using System.Diagnostics;
using System.Globalization;
using Lifeboat.Etcd.Snapshots;
using Spectre.Console;

namespace Lifeboat.Cli.Output;

/// <summary>
/// Shows the progress of a byte stream: a live bar with bytes and rate on an interactive terminal (on standard error,
/// so standard output stays clean for results), plain lines every few seconds otherwise.
/// </summary>
internal static class TransferProgress
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);

    public static async Task<T> RunAsync<T>(CliContext context, string label, Func<IProgress<SnapshotProgress>, Task<T>> work)
    {
        if (!context.Interactive)
        {
            return await work(new PlainProgress(context.Error, label));
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(),
                new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(label, autoStart: true, maxValue: 1);
                task.IsIndeterminate = true;
                var result = await work(new BarProgress(task));
                task.Value = task.MaxValue;
                return result;
            });
    }

    private sealed class BarProgress(ProgressTask task) : IProgress<SnapshotProgress>
    {
        public void Report(SnapshotProgress value)
        {
            if (value.TotalBytes is { } total && task.IsIndeterminate)
            {
                task.MaxValue = Math.Max(1, total);
                task.IsIndeterminate = false;
            }

            task.Value = value.Bytes;
        }
    }

    private sealed class PlainProgress(TextWriter error, string label) : IProgress<SnapshotProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan _next = PlainInterval;

        public void Report(SnapshotProgress value)
        {
            var elapsed = _clock.Elapsed;
            if (elapsed < _next)
            {
                return;
            }

            _next = elapsed + PlainInterval;
            var rate = value.Bytes / Math.Max(elapsed.TotalSeconds, 0.001);
            var of = value.TotalBytes is { } t && t > 0
                ? string.Create(CultureInfo.InvariantCulture, $" of {Bytes.Format(t)} ({100.0 * value.Bytes / t:0}%)")
                : "";
            error.WriteLine($"{label}: {Bytes.Format(value.Bytes)}{of}, {Bytes.Format(rate)}/s");
        }
    }
}
