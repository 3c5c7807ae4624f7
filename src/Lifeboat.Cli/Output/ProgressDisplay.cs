using System.Diagnostics;
using Spectre.Console;

namespace Lifeboat.Cli.Output;

/// <summary>
/// Shows the progress of long work: a live bar on an interactive terminal (on standard error, so standard output stays
/// clean for results), a plain line every few seconds otherwise.
/// </summary>
internal static class ProgressDisplay
{
    /// <summary>
    /// How often a plain progress line is written off a terminal: every 5 s, or LIFEBOAT_PROGRESS_INTERVAL (0s: every
    /// report). Work shorter than that writes none, so a quick command that fails still says only its one error line.
    /// </summary>
    private static readonly TimeSpan PlainInterval =
        Environment.GetEnvironmentVariable("LIFEBOAT_PROGRESS_INTERVAL") is { Length: > 0 } text && Commands.Durations.TryParse(text, out var interval)
            ? interval
            : TimeSpan.FromSeconds(5);

    /// <param name="columns">The bar's columns on a terminal.</param>
    /// <param name="updateBar">Applies a report to the bar, given the time since the work started.</param>
    /// <param name="plainLine">The line written for a report when there is no terminal.</param>
    public static async Task<T> RunAsync<TProgress, T>(CliContext context, string label, ProgressColumn[] columns,
        Action<ProgressTask, TProgress, TimeSpan> updateBar, Func<TProgress, TimeSpan, string> plainLine, Func<IProgress<TProgress>, Task<T>> work)
    {
        if (!context.Interactive)
        {
            var next = PlainInterval;
            return await work(new Reporter<TProgress>((p, elapsed) =>
            {
                if (elapsed >= next)
                {
                    next = elapsed + PlainInterval;
                    context.Error.WriteLine($"{label}: {plainLine(p, elapsed)}");
                }
            }));
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await console.Progress()
            .AutoClear(true)
            .Columns(columns)
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(label, autoStart: true, maxValue: 1);
                task.IsIndeterminate = true;
                var result = await work(new Reporter<TProgress>((p, elapsed) => updateBar(task, p, elapsed)));
                task.Value = task.MaxValue;
                return result;
            });
    }

    /// <summary>
    /// Like <see cref="RunAsync"/> for work in phases: each phase gets its own bar (its own rate and time remaining) on a
    /// terminal, and without one a line when it starts and every few seconds while it runs. Times passed on are the
    /// phase's own.
    /// </summary>
    public static async Task<T> RunPhasedAsync<TProgress, T>(CliContext context, string label, ProgressColumn[] columns, Func<TProgress, string> phaseOf,
        Action<ProgressTask, TProgress, TimeSpan> updateBar, Func<TProgress, TimeSpan, string> plainLine, Func<IProgress<TProgress>, Task<T>> work)
    {
        string? phase = null;
        var phaseStarted = TimeSpan.Zero;
        if (!context.Interactive)
        {
            var next = PlainInterval;
            return await work(new Reporter<TProgress>((p, elapsed) =>
            {
                var current = phaseOf(p);
                if ((current != phase && elapsed >= PlainInterval) || elapsed >= next)
                {
                    if (current != phase)
                    {
                        (phase, phaseStarted) = (current, elapsed);
                    }

                    next = elapsed + PlainInterval;
                    context.Error.WriteLine($"{label}: {current}: {plainLine(p, elapsed - phaseStarted)}");
                }
            }));
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await console.Progress()
            .AutoClear(true)
            .Columns(columns)
            .StartAsync(async ctx =>
            {
                ProgressTask? task = null;
                var result = await work(new Reporter<TProgress>((p, elapsed) =>
                {
                    var current = phaseOf(p);
                    if (task is null || current != phase)
                    {
                        if (task is not null)
                        {
                            task.Value = task.MaxValue;
                            task.StopTask();
                        }

                        (phase, phaseStarted) = (current, elapsed);
                        task = ctx.AddTask(current, autoStart: true, maxValue: 1);
                        task.IsIndeterminate = true;
                    }

                    updateBar(task, p, elapsed - phaseStarted);
                }));
                if (task is not null)
                {
                    task.Value = task.MaxValue;
                }

                return result;
            });
    }

    /// <summary>Reports synchronously on the reporting thread, with the time since the work started.</summary>
    private sealed class Reporter<TProgress>(Action<TProgress, TimeSpan> report) : IProgress<TProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        public void Report(TProgress value) => report(value, _clock.Elapsed);
    }
}
