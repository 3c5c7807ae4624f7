using Lifeboat.Core.Errors;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Init;

namespace Lifeboat.Cli.Hosting;

/// <summary>
/// init inside the sidecar, for an etcd container that waits for it before starting (<c>POST /initialization/start</c>,
/// then <c>GET /initialization/status</c> until it says Successful). One run at a time; a start while one runs joins it.
/// </summary>
internal sealed class InitializationService(InitOptions? options, ISnapshotStore store, EtcdClient client, Uri ownMember, TimeProvider time,
    Microsoft.Extensions.Logging.ILogger logger)
{
    private readonly Lock _lock = new();
    private Task? _running;
    private InitializationStatus _status = new("New");

    public InitializationStatus Status
    {
        get
        {
            lock (_lock)
            {
                return _status;
            }
        }
    }

    /// <summary>Starts init unless it runs already; false when the sidecar was started without --data-dir.</summary>
    public bool Start()
    {
        if (options is null)
        {
            return false;
        }

        lock (_lock)
        {
            if (_running is { IsCompleted: false })
            {
                return true;
            }

            _status = new InitializationStatus("Progress");
            _running = Task.Run(RunAsync, CancellationToken.None);
            return true;
        }
    }

    private async Task RunAsync()
    {
        InitializationStatus final;
        try
        {
            await RefuseIfEtcdServesAsync();
            var result = await new EtcdInitializer(store, time, logger).RunAsync(options!, null, CancellationToken.None);
            final = new InitializationStatus("Successful", result.Decision.Action.ToString().ToLowerInvariant(), result.Decision.Reason,
                result.Restored?.Revision ?? result.Report.Revision, result.KeptAs);
        }
        catch (Exception ex) when (ex is LifeboatException or IOException or UnauthorizedAccessException)
        {
            final = new InitializationStatus("Failed", Error: ex.Message, Fix: (ex as LifeboatException)?.Hint);
        }

        lock (_lock)
        {
            _status = final;
        }
    }

    /// <summary>init must run before etcd starts: a member that answers is running on the directory init would replace.</summary>
    private async Task RefuseIfEtcdServesAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await client.StatusAsync(ownMember, timeout.Token);
        }
        catch (Exception ex) when (ex is EtcdException or OperationCanceledException)
        {
            return;
        }

        throw new InitRefusedException(new InitDecision(InitAction.Refuse, $"etcd is already serving at {ownMember} on the data directory",
            "call /initialization/start before etcd starts (e.g. from the etcd container's start script), not while it runs"));
    }
}

/// <summary>What <c>GET /initialization/status</c> answers: New, Progress, Successful or Failed, with the decision or the error.</summary>
internal sealed record InitializationStatus(string Status, string? Decision = null, string? Reason = null, long? Revision = null, string? KeptAs = null,
    string? Error = null, string? Fix = null);
