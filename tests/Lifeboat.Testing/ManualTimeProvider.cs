namespace Lifeboat.Testing;

/// <summary>A clock that moves only when a test says so. Timers are not supported (use it where only "now" is read).</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
