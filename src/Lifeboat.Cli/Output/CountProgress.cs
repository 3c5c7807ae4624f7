using System.Globalization;
using Lifeboat.Etcd.Restore;
using Spectre.Console;

namespace Lifeboat.Cli.Output;

/// <summary>Progress of a replay: revisions applied, changes and events per second.</summary>
internal static class CountProgress
{
    public static Task<T> RunAsync<T>(CliContext context, string label, Func<IProgress<ReplayProgress>, Task<T>> work) =>
        ProgressDisplay.RunAsync(context, label,
            [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn()],
            (task, p, elapsed) =>
            {
                if (p.TotalRevisions is { } total && total > 0)
                {
                    task.MaxValue = total;
                    task.IsIndeterminate = false;
                }

                task.Value = p.Revisions;
                task.Description = $"{label}: {Describe(p, elapsed)}";
            },
            Describe,
            work);

    private static string Describe(ReplayProgress p, TimeSpan elapsed)
    {
        var of = p.TotalRevisions is { } t ? string.Create(CultureInfo.InvariantCulture, $" of {t}") : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{p.Revisions}{of} revisions, {p.Changes} changes, {p.Changes / Math.Max(elapsed.TotalSeconds, 0.001):0} events/s");
    }
}
