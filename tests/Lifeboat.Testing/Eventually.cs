namespace Lifeboat.Testing;

/// <summary>Awaits a condition with a timeout instead of sleeping a fixed time.</summary>
public static class Eventually
{
    public static async Task<T> SucceedsAsync<T>(Func<CancellationToken, Task<T>> attempt, TimeSpan timeout, string what)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        using var cts = new CancellationTokenSource(timeout);
        Exception? last = null;
        var delay = TimeSpan.FromMilliseconds(20);
        while (!cts.IsCancellationRequested)
        {
            try
            {
                return await attempt(cts.Token);
            }
            catch (Exception ex) when (!cts.IsCancellationRequested)
            {
                last = ex;
            }
            catch (OperationCanceledException ex) when (cts.IsCancellationRequested)
            {
                last ??= ex;
                break;
            }

            try
            {
                await Task.Delay(delay, cts.Token);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                break;
            }

            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 250));
        }

        throw new TimeoutException($"{what} did not succeed within {timeout.TotalSeconds} s: {last?.Message}", last);
    }

    /// <summary>Waits until <paramref name="condition"/> holds (checked every 20-250 ms), failing after <paramref name="timeout"/> (10 s by default).</summary>
    public static Task TrueAsync(Func<bool> condition, TimeSpan? timeout = null, string what = "the condition") =>
        SucceedsAsync(_ => condition() ? Task.FromResult(true) : throw new InvalidOperationException("not yet"), timeout ?? TimeSpan.FromSeconds(10), what);
}
