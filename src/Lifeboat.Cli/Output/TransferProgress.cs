using System.Globalization;
using Lifeboat.Etcd.Snapshots;
using Spectre.Console;

namespace Lifeboat.Cli.Output;

/// <summary>Progress of a byte stream (a snapshot): bytes, total and rate.</summary>
internal static class TransferProgress
{
    // Sizes are written by Bytes.Format (KiB, MiB, GiB: powers of 1024, named as such) in the description, rather than by
    // Spectre's download columns, which label binary multiples "MB".
    public static Task<T> RunAsync<T>(CliContext context, string label, Func<IProgress<SnapshotProgress>, Task<T>> work) =>
        ProgressDisplay.RunAsync(context, label,
            [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn()],
            (task, p, elapsed) =>
            {
                if (p.TotalBytes is { } total && task.IsIndeterminate)
                {
                    task.MaxValue = Math.Max(1, total);
                    task.IsIndeterminate = false;
                }

                task.Value = p.Bytes;
                task.Description = $"{label}: {Describe(p, elapsed)}";
            },
            Describe,
            work);

    internal static string Describe(SnapshotProgress p, TimeSpan elapsed)
    {
        var of = p.TotalBytes is { } t && t > 0
            ? string.Create(CultureInfo.InvariantCulture, $" of {Bytes.Format(t)} ({100.0 * p.Bytes / t:0}%)")
            : "";
        return $"{Bytes.Format(p.Bytes)}{of}, {Bytes.Format(p.Bytes / Math.Max(elapsed.TotalSeconds, 0.001))}/s";
    }
}
