using System.Diagnostics;

namespace Lifeboat.Testing;

/// <summary>
/// A clock that runs at real speed from <c>start</c> and can be moved forward: timeouts and delays behave as in
/// production, while a test jumps hours ahead between two runs of a job.
/// </summary>
public sealed class ShiftedTimeProvider(DateTimeOffset start) : TimeProvider
{
    private readonly long _origin = Stopwatch.GetTimestamp();
    private TimeSpan _shift;

    public override DateTimeOffset GetUtcNow() => start + Stopwatch.GetElapsedTime(_origin) + _shift;

    public void Advance(TimeSpan by) => _shift += by;
}
