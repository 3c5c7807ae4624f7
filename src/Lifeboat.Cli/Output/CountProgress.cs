using System.Diagnostics;
using System.Globalization;
using Lifeboat.Etcd.Restore;
using Spectre.Console;

namespace Lifeboat.Cli.Output;

/// <summary>Replay progress: a bar with revisions and changes per second on a terminal, plain lines every few seconds otherwise.</summary>
internal static class CountProgress
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);

    public static async Task<T> RunAsync<T>(CliContext context, string label, Func<IProgress<ReplayProgress>, Task<T>> work)
    {
        if (!context.Interactive)
        {
            return await work(new Plain(context.Error, label));
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(label, autoStart: true, maxValue: 1);
                task.IsIndeterminate = true;
                var clock = Stopwatch.StartNew();
                var result = await work(new Progress<ReplayProgress>(p =>
                {
                    if (p.TotalRevisions is { } total && total > 0)
                    {
                        task.MaxValue = total;
                        task.IsIndeterminate = false;
                    }

                    task.Value = p.Revisions;
                    task.Description = string.Create(CultureInfo.InvariantCulture,
                        $"{label}: {p.Revisions} revisions, {p.Changes} changes, {p.Changes / Math.Max(clock.Elapsed.TotalSeconds, 0.001):0} events/s");
                }));
                task.Value = task.MaxValue;
                return result;
            });
    }

    private sealed class Plain(TextWriter error, string label) : IProgress<ReplayProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan _next = PlainInterval;

        public void Report(ReplayProgress value)
        {
            var elapsed = _clock.Elapsed;
            if (elapsed < _next)
            {
                return;
            }

            _next = elapsed + PlainInterval;
            var of = value.TotalRevisions is { } t ? string.Create(CultureInfo.InvariantCulture, $" of {t}") : "";
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{label}: {value.Revisions}{of} revisions, {value.Changes} changes, {value.Changes / elapsed.TotalSeconds:0} events/s"));
        }
    }
}
