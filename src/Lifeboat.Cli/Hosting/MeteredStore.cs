using System.Runtime.CompilerServices;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;

namespace Lifeboat.Cli.Hosting;

/// <summary>
/// Counts what the sidecar asks of its store: <c>lifeboat_store_operations_total{operation}</c> and
/// <c>lifeboat_store_errors_total{operation,kind}</c>. Behaviour is the inner store's.
/// </summary>
internal sealed class MeteredStore(ISnapshotStore inner, Prometheus.IMetricFactory metrics) : ISnapshotStore
{
    private readonly Prometheus.Counter _operations = metrics.CreateCounter("lifeboat_store_operations_total", "Store operations, by operation", ["operation"]);
    private readonly Prometheus.Counter _errors = metrics.CreateCounter("lifeboat_store_errors_total", "Failed store operations, by operation and kind", ["kind", "operation"]);

    public string Location => inner.Location;

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Count("list");
        await using var items = Guard("list", () => inner.ListAsync(prefix, cancellationToken).GetAsyncEnumerator(cancellationToken));
        while (await GuardAsync("list", () => items.MoveNextAsync().AsTask()))
        {
            yield return items.Current;
        }
    }

    public async Task<IStoreWrite> BeginWriteAsync(CancellationToken cancellationToken)
    {
        Count("write");
        return new MeteredWrite(this, await GuardAsync("write", () => inner.BeginWriteAsync(cancellationToken)));
    }

    public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        Count("read");
        return GuardAsync("read", () => inner.OpenReadAsync(key, cancellationToken));
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        Count("delete");
        return GuardAsync("delete", async () =>
        {
            await inner.DeleteAsync(key, cancellationToken);
            return true;
        });
    }

    private void Count(string operation) => _operations.WithLabels(operation).Inc();

    private void Failed(string operation, Exception ex) =>
        _errors.WithLabels(ex is StoreException s ? s.Kind.ToString().ToLowerInvariant() : "other", operation).Inc(); // labels in name order, as before

    private T Guard<T>(string operation, Func<T> body)
    {
        try
        {
            return body();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Failed(operation, ex);
            throw;
        }
    }

    private async Task<T> GuardAsync<T>(string operation, Func<Task<T>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Failed(operation, ex);
            throw;
        }
    }

    private sealed class MeteredWrite(MeteredStore owner, IStoreWrite inner) : IStoreWrite
    {
        public Stream Content => inner.Content;

        public Task<StoredObject> CommitAsync(string key, bool overwrite, CancellationToken cancellationToken)
        {
            owner.Count("commit");
            return owner.GuardAsync("commit", () => inner.CommitAsync(key, overwrite, cancellationToken));
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
