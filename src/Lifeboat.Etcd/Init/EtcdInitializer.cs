using System.Net.Sockets;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd.Restore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeboat.Etcd.Init;

/// <summary>How deep init looks at a data directory that seems healthy.</summary>
public enum InitMode
{
    /// <summary>Structure, membership and the database's pages and revision; etcd is started on a copy only when the data looks older than the store.</summary>
    Sanity,

    /// <summary>Also always starts etcd on a copy and checks Status and HashKV.</summary>
    Full,
}

/// <summary>What <see cref="EtcdInitializer"/> checks and how it restores.</summary>
public sealed record InitOptions
{
    public required string DataDir { get; init; }

    /// <summary>The flags etcd will start with; also the membership a restore lays out.</summary>
    public MemberFlags Member { get; init; } = new();

    /// <summary>False for a member that joined with <c>--initial-cluster-state existing</c>: its ids cannot be derived from flags.</summary>
    public bool CheckMemberIds { get; init; } = true;

    public InitMode Mode { get; init; } = InitMode.Sanity;

    /// <summary>Delete a damaged directory after the restore instead of keeping it as <c>DIR.damaged-&lt;UTC time&gt;</c>.</summary>
    public bool DiscardDamaged { get; init; }

    public string? ScratchDir { get; init; }

    public string? EtcdBinary { get; init; }
}

/// <summary>What init found, decided and did.</summary>
/// <param name="KeptAs">Where the previous contents of the data directory went, when a restore replaced them.</param>
public sealed record InitResult(DataDirReport Report, InitDecision Decision, RestoreResult? Restored, string? KeptAs, TimeSpan Duration);

/// <summary>init refused to act; the data directory was left as it was.</summary>
public sealed class InitRefusedException(InitDecision decision) : Core.Errors.LifeboatException(decision.Reason, decision.Hint, null)
{
    public InitDecision Decision { get; } = decision;

    public override bool IsTransient => false;
}

/// <summary>
/// The automatic restore: inspects the data directory, decides with <see cref="InitPolicy"/>, and restores the store's
/// newest point when the directory is missing, empty, damaged, or behind the store. Every finding and decision is
/// logged with its reason. Nothing is deleted unless asked to: a replaced directory is kept beside the new one.
/// </summary>
public sealed partial class EtcdInitializer(ISnapshotStore store, TimeProvider? time = null, ILogger? logger = null)
{
    private static readonly TimeSpan PeerProbeTimeout = TimeSpan.FromSeconds(2);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    /// <exception cref="InitRefusedException">The decision was to refuse (nothing was changed).</exception>
    public async Task<InitResult> RunAsync(InitOptions options, IProgress<ReplayProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var started = _time.GetTimestamp();
        var dataDir = Path.GetFullPath(options.DataDir);
        options.Member.Validate();
        foreach (var removed in EtcdRestorer.RemoveAbandoned(dataDir, options.ScratchDir))
        {
            Log.RemovedDebris(_logger, removed);
        }

        var report = await DataDirInspector.InspectAsync(dataDir, options.Member, options.CheckMemberIds, cancellationToken);
        Log.Inspected(_logger, dataDir, report.Condition, report.Reason);
        var snapshots = await SnapshotCatalog.ListAsync(store, cancellationToken);
        var newest = RestorePlanner.Newest(RestorePlanner.Chains(snapshots))?.LastRevision;
        var context = new InitContext(newest, options.Member.Members().Count, await CountLivePeersAsync(options.Member, cancellationToken));

        var decision = InitPolicy.Decide(report, context);
        var shouldProve = report.Condition == DataDirCondition.Healthy
            && (options.Mode == InitMode.Full || decision.Action == InitAction.Restore); // the WAL may hold what the db lacks
        if (shouldProve && options.Mode != InitMode.Full && options.EtcdBinary is null && !EtcdTools.IsInstalled)
        {
            // The shipped image has no etcd. Restoring over a healthy directory that is behind the store is decided
            // from its database alone; the directory is kept aside (DIR.replaced-<time>), so nothing is lost if its
            // WAL held more.
            Log.NotProved(_logger, dataDir);
            shouldProve = false;
        }

        if (shouldProve)
        {
            var tools = EtcdTools.Locate(options.EtcdBinary);
            using (var scratch = ScratchDirectory.Create(options.ScratchDir ?? Path.GetDirectoryName(dataDir) ?? Path.GetTempPath(), "init", _time.GetUtcNow()))
            {
                report = await DataDirInspector.ProveAsync(dataDir, report, tools, scratch.Path, cancellationToken);
            }

            Log.Inspected(_logger, dataDir, report.Condition, report.Reason);
            decision = InitPolicy.Decide(report, context);
        }

        if (decision.Action == InitAction.Keep)
        {
            Log.Kept(_logger, decision.Reason); // not a warning: a healthy directory is the normal case
        }
        else if (decision.Action == InitAction.Refuse)
        {
            Log.Refused(_logger, decision.Reason); // the refusal itself carries the reason to the caller: said once, not twice
        }
        else
        {
            Log.Decided(_logger, decision.Action, decision.Reason);
        }

        switch (decision.Action)
        {
            case InitAction.Refuse:
                throw new InitRefusedException(decision);
            case InitAction.Keep:
                return new InitResult(report, decision, null, null, _time.GetElapsedTime(started));
        }

        var plan = RestorePlanner.Plan(snapshots, RestoreTarget.Latest);
        var restored = await new EtcdRestorer(store, _time).RestoreAsync(plan, new RestoreOptions
        {
            DataDir = dataDir,
            Member = options.Member,
            Force = true,
            AsideName = report.IsDamaged ? "damaged" : "replaced",
            DiscardPrevious = options.DiscardDamaged && report.IsDamaged,
            ScratchDir = options.ScratchDir,
        }, progress, cancellationToken);
        foreach (var warning in restored.Warnings)
        {
            Log.Unchecked(_logger, warning);
        }

        Log.Restored(_logger, dataDir, restored.Revision, restored.ReplacedDataDir ?? "(nothing kept)");
        return new InitResult(report, decision, restored, restored.ReplacedDataDir, _time.GetElapsedTime(started));
    }

    /// <summary>Other members of --initial-cluster that accept a TCP connection on a peer URL.</summary>
    private static async Task<int> CountLivePeersAsync(MemberFlags member, CancellationToken cancellationToken)
    {
        var others = member.Members().Where(m => m.Key != member.Name).ToList();
        var probes = others.Select(async m =>
        {
            foreach (var url in m.Value)
            {
                if (await AcceptsAsync(new Uri(url), cancellationToken))
                {
                    return 1;
                }
            }

            return 0;
        });
        return (await Task.WhenAll(probes)).Sum();
    }

    private static async Task<bool> AcceptsAsync(Uri url, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(PeerProbeTimeout);
        using var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(url.Host, url.Port, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3001, LogLevel.Information, "Data directory {DataDir}: {Condition}, {Reason}")]
        public static partial void Inspected(ILogger logger, string dataDir, DataDirCondition condition, string reason);

        [LoggerMessage(3002, LogLevel.Warning, "Decision: {Action}, because {Reason}")]
        public static partial void Decided(ILogger logger, InitAction action, string reason);

        [LoggerMessage(3005, LogLevel.Information, "Decision: Refuse, because {Reason}")]
        public static partial void Refused(ILogger logger, string reason);

        [LoggerMessage(3004, LogLevel.Information, "Decision: Keep, because {Reason}")]
        public static partial void Kept(ILogger logger, string reason);

        [LoggerMessage(3011, LogLevel.Warning, "Removed {Path}, left by a restore that was killed midway")]
        public static partial void RemovedDebris(ILogger logger, string path);

        [LoggerMessage(3010, LogLevel.Warning, "Restoring without a check of origin: {Warning}")]
        public static partial void Unchecked(ILogger logger, string warning);

        [LoggerMessage(3012, LogLevel.Warning,
            "etcd is not installed, so {DataDir} was not proved by starting etcd on a copy: revisions its WAL holds past its database are not counted (install etcd-server, or pass --etcd-binary, to count them)")]
        public static partial void NotProved(ILogger logger, string dataDir);

        [LoggerMessage(3003, LogLevel.Warning, "Restored {DataDir} to revision {Revision}; previous contents: {KeptAs}")]
        public static partial void Restored(ILogger logger, string dataDir, long revision, string keptAs);
    }
}
