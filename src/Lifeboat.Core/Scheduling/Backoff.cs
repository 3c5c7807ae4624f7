namespace Lifeboat.Core.Scheduling;

/// <summary>How long to wait before retrying after consecutive failures.</summary>
public static class Backoff
{
    /// <summary>
    /// Exponential with jitter: the ceiling doubles from <paramref name="initial"/> with each failure (up to 64×), is
    /// capped at <paramref name="max"/>, and the wait is uniform in [ceiling/2, ceiling], so that many clients retrying
    /// after the same outage do not retry in step.
    /// </summary>
    public static TimeSpan Jittered(int failures, TimeSpan initial, TimeSpan max)
    {
        var ceiling = Math.Min(max.TotalMilliseconds, initial.TotalMilliseconds * (1 << Math.Clamp(failures, 0, 6)));
        return TimeSpan.FromMilliseconds(ceiling / 2 + (Random.Shared.NextDouble() * ceiling / 2));
    }
}
