using k8s;
using k8s.Models;
using Lifeboat.Kubernetes.Client;

namespace Lifeboat.Kubernetes.Volumes;

/// <summary>
/// Waits for one object to reach a state: reads it, then watches it (from the version read, re-reading after a 410 or
/// when the server ends the stream); an identity not allowed to watch falls back to reading it every
/// <see cref="PollInterval"/>. The condition sees every state observed (null once the object is gone).
/// </summary>
public sealed class ObjectWaiter(KubeClient client, TimeProvider time)
{
    private bool _watchForbidden;

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The last state observed: the one that met <paramref name="done"/>, or the one at the deadline.</summary>
    public async Task<T?> WaitAsync<T>(KubeResource resource, string? ns, string name, Func<T?, bool> done, DateTimeOffset deadline,
        CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(done);
        while (true)
        {
            var last = await client.TryGetAsync<T>(resource, ns, name, cancellationToken);
            if (done(last))
            {
                return last;
            }

            var remaining = deadline - time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return last;
            }

            if (_watchForbidden)
            {
                await Task.Delay(Min(PollInterval, remaining), time, cancellationToken);
                continue;
            }

            using var window = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            window.CancelAfter(remaining);
            try
            {
                var options = new WatchOptions
                {
                    ResourceVersion = last?.Metadata.ResourceVersion,
                    FieldSelector = $"metadata.name={name}",
                    TimeoutSeconds = (int)Math.Clamp(Math.Ceiling(remaining.TotalSeconds), 1, 300),
                };
                await foreach (var change in client.WatchAsync<T>(resource, ns, options, window.Token))
                {
                    if (change.Type == WatchEvent<T>.Bookmark)
                    {
                        continue;
                    }

                    last = change.Type == WatchEvent<T>.Deleted ? null : change.Item;
                    if (done(last))
                    {
                        return last;
                    }
                }
            }
            catch (KubeForbiddenException)
            {
                _watchForbidden = true;
            }
            catch (KubeGoneException)
            {
                // The version read is too old to watch from: read again.
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The deadline passed while watching; the next read reports the final state.
            }
            catch (KubeException ex) when (ex.IsTransient || ex.StatusCode == 0)
            {
                await Task.Delay(Min(PollInterval, remaining), time, cancellationToken);
            }
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
