using Lifeboat.Core.Scheduling;

namespace Lifeboat.Core.Tests.Scheduling;

public sealed class BackoffTests
{
    [Theory]
    [InlineData(0, 50, 100)]
    [InlineData(1, 100, 200)]
    [InlineData(3, 400, 800)]
    [InlineData(6, 2500, 5000)] // capped at max
    [InlineData(40, 2500, 5000)]
    public void Jittered_StaysWithinHalfToFullCeiling(int failures, double min, double max)
    {
        for (var i = 0; i < 200; i++)
        {
            var wait = Backoff.Jittered(failures, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5)).TotalMilliseconds;
            Assert.InRange(wait, min, max);
        }
    }
}
