using System.Globalization;
using Lifeboat.Etcd.Restore;
using Spectre.Console;

namespace Lifeboat.Cli.Output;

/// <summary>
/// Progress of a restore, phase by phase: verify and extract in stored bytes (read, total, rate, time remaining), then
/// prepare, replay in revisions (applied, total, changes per second, time remaining), then layout.
/// </summary>
internal static class CountProgress
{
    public static Task<T> RunAsync<T>(CliContext context, string label, Func<IProgress<ReplayProgress>, Task<T>> work) =>
        ProgressDisplay.RunPhasedAsync(context, label,
            [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn()],
            p => p.Phase.ToString().ToLowerInvariant(),
            (task, p, elapsed) =>
            {
                var (done, total) = Amounts(p);
                if (total is > 0)
                {
                    task.MaxValue = total.Value;
                    task.IsIndeterminate = false;
                    task.Value = Math.Min(done, total.Value);
                }

                task.Description = $"{p.Phase.ToString().ToLowerInvariant()}: {Describe(p, elapsed)}";
            },
            Describe,
            work);

    private static (long Done, long? Total) Amounts(ReplayProgress p) => p.Phase switch
    {
        RestorePhase.Verify or RestorePhase.Extract => (p.Bytes, p.TotalBytes),
        RestorePhase.Replay => (p.Revisions, p.TotalRevisions),
        _ => (0, null),
    };

    /// <summary>One phase's line: what is done of what, the rate, and the time remaining at that rate.</summary>
    internal static string Describe(ReplayProgress p, TimeSpan elapsed)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 0.001);
        var (done, total) = Amounts(p);
        var eta = total is > 0 && done > 0 && done < total ? $", {Remaining(TimeSpan.FromSeconds(seconds * (total.Value - done) / done))} left" : "";
        return p.Phase switch
        {
            RestorePhase.Verify or RestorePhase.Extract => string.Create(CultureInfo.InvariantCulture,
                $"{Bytes.Format(p.Bytes)}{(p.TotalBytes is { } t ? $" of {Bytes.Format(t)}" : "")}, {Bytes.Format(p.Bytes / seconds)}/s{eta}"),
            RestorePhase.Replay => string.Create(CultureInfo.InvariantCulture,
                $"{p.Revisions}{(p.TotalRevisions is { } r ? $" of {r}" : "")} revisions, {p.Changes} changes, {p.Changes / seconds:0} events/s{eta}"),
            _ => "laying out the member directory and moving it into place",
        };
    }

    private static string Remaining(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}")
        : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}:{t.Seconds:00}");
}
