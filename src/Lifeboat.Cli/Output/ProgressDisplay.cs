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
    public static Task<T> RunAsync<TProgress, T>(CliContext context, string label, ProgressColumn[] columns,
        Action<ProgressTask, TProgress, TimeSpan> updateBar, Func<TProgress, TimeSpan, string> plainLine, Func<IProgress<TProgress>, Task<T>> work) =>
        RunPhasedAsync(context, label, columns, null, updateBar, plainLine, work);

    /// <summary>
    /// Like <see cref="RunAsync"/> for work in phases: each phase gets its own bar (its own rate and time remaining) on a
    /// terminal, and without one a line when it starts and every few seconds while it runs. Times passed on are the
    /// phase's own, counted from the first report of it (the first phase: from the start of the work).
    /// </summary>
    /// <param name="phaseOf">The phase a report belongs to; null for work in one piece, shown under <paramref name="label"/>.</param>
    public static async Task<T> RunPhasedAsync<TProgress, T>(CliContext context, string label, ProgressColumn[] columns, Func<TProgress, string>? phaseOf,
        Action<ProgressTask, TProgress, TimeSpan> updateBar, Func<TProgress, TimeSpan, string> plainLine, Func<IProgress<TProgress>, Task<T>> work)
    {
        string? phase = null;
        var phaseStarted = TimeSpan.Zero;

        // Follows the phase of every report, written or not, so that a phase's time counts from its real start.
        bool Enter(TProgress p, TimeSpan elapsed)
        {
            var current = phaseOf?.Invoke(p) ?? label;
            if (current == phase)
            {
                return false;
            }

            (phaseStarted, phase) = (phase is null ? TimeSpan.Zero : elapsed, current);
            return true;
        }

        if (!context.Interactive)
        {
            var next = PlainInterval;
            return await work(new Reporter<TProgress>((p, elapsed) =>
            {
                var entered = Enter(p, elapsed);
                if ((entered && phaseOf is not null && elapsed >= PlainInterval) || elapsed >= next)
                {
                    next = elapsed + PlainInterval;
                    context.Error.WriteLine($"{(phaseOf is null ? label : $"{label}: {phase}")}: {plainLine(p, elapsed - phaseStarted)}");
                }
            }));
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await console.Progress()
            .AutoClear(true)
            .Columns(columns)
            .StartAsync(async ctx =>
            {
                // Work in one piece shows its bar from the start; phases each get theirs when their first report comes.
                var task = phaseOf is null ? NewTask(ctx, label) : null;
                var result = await work(new Reporter<TProgress>((p, elapsed) =>
                {
                    if (Enter(p, elapsed) && (task is null || phaseOf is not null))
                    {
                        if (task is not null)
                        {
                            task.Value = task.MaxValue;
                            task.StopTask();
                        }

                        task = NewTask(ctx, phase!);
                    }

                    updateBar(task!, p, elapsed - phaseStarted);
                }));
                if (task is not null)
                {
                    task.Value = task.MaxValue;
                }

                return result;
            });
    }

    private static ProgressTask NewTask(ProgressContext context, string description)
    {
        var task = context.AddTask(description, autoStart: true, maxValue: 1);
        task.IsIndeterminate = true;
        return task;
    }

    /// <summary>Reports synchronously on the reporting thread, with the time since the work started.</summary>
    private sealed class Reporter<TProgress>(Action<TProgress, TimeSpan> report) : IProgress<TProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        public void Report(TProgress value) => report(value, _clock.Elapsed);
    }
}
