using System.Diagnostics;
using System.Globalization;
using Lifeboat.Core.Scheduling;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd.Init;
using Lifeboat.Etcd.Restore;
using Microsoft.Extensions.Logging;

namespace Lifeboat.Cli.Hosting;

/// <summary>The member flags <c>lifeboat etcd run</c> reads from etcd's own command line, with etcd's defaults.</summary>
internal sealed record EtcdCommandLine(IReadOnlyList<string> Args, string DataDir, MemberFlags Member, bool JoinsExisting)
{
    /// <summary>Reads <c>--flag value</c> and <c>--flag=value</c> (one or two leading dashes, as etcd accepts).</summary>
    public static EtcdCommandLine Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith('-'))
            {
                continue;
            }

            var flag = arg.TrimStart('-');
            var eq = flag.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                values[flag[..eq]] = flag[(eq + 1)..];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith('-'))
            {
                values[flag] = args[++i];
            }
        }

        var defaults = new MemberFlags();
        var name = values.GetValueOrDefault("name", defaults.Name);
        var member = new MemberFlags
        {
            Name = name,
            InitialCluster = values.GetValueOrDefault("initial-cluster", $"{name}={defaults.InitialAdvertisePeerUrls}"),
            InitialClusterToken = values.GetValueOrDefault("initial-cluster-token", defaults.InitialClusterToken),
            InitialAdvertisePeerUrls = values.GetValueOrDefault("initial-advertise-peer-urls", defaults.InitialAdvertisePeerUrls),
        };
        return new EtcdCommandLine(args, values.GetValueOrDefault("data-dir", $"{name}.etcd"), member,
            values.GetValueOrDefault("initial-cluster-state") == "existing");
    }
}

/// <summary>
/// <c>lifeboat etcd run</c>: runs init, starts etcd, and supervises it. When etcd exits with an error it runs init again
/// (restoring the data directory if that is what broke) and restarts etcd with backoff; five failures in a row, each
/// within a minute of its start, end the supervisor with etcd's exit code. SIGTERM is passed on to etcd, and the
/// supervisor exits when etcd has.
/// </summary>
internal sealed partial class EtcdSupervisor(ISnapshotStore store, EtcdCommandLine etcd, InitOptions init, string etcdBinary, TimeProvider time, ILogger logger)
{
    private const int MaxQuickFailures = 5;
    private static readonly TimeSpan QuickFailure = TimeSpan.FromMinutes(1);

    /// <summary>Runs until cancelled (then 0 once etcd stopped) or until etcd keeps failing (then its exit code).</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var quickFailures = 0;
        while (true)
        {
            var result = await new EtcdInitializer(store, time, logger).RunAsync(init, null, cancellationToken);
            Log.Initialized(logger, result.Decision.Action, result.Decision.Reason);
            var started = time.GetTimestamp();
            var code = await RunEtcdAsync(cancellationToken);
            if (cancellationToken.IsCancellationRequested || code == 0)
            {
                return code;
            }

            quickFailures = time.GetElapsedTime(started) < QuickFailure ? quickFailures + 1 : 1;
            Log.EtcdExited(logger, code, quickFailures);
            if (quickFailures >= MaxQuickFailures)
            {
                return code;
            }

            await Task.Delay(Backoff.Jittered(quickFailures, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)), time, cancellationToken);
        }
    }

    private async Task<int> RunEtcdAsync(CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(etcdBinary) { UseShellExecute = false };
        foreach (var arg in etcd.Args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{etcdBinary} did not start");
        Log.EtcdStarted(logger, process.Id, etcd.DataDir);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
            return process.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term!.WaitForExitAsync(CancellationToken.None);
            }

            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }

            return 0;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3101, LogLevel.Warning, "init: {Action}, because {Reason}")]
        public static partial void Initialized(ILogger logger, InitAction action, string reason);

        [LoggerMessage(3102, LogLevel.Warning, "etcd started (pid {Pid}) on {DataDir}")]
        public static partial void EtcdStarted(ILogger logger, int pid, string dataDir);

        [LoggerMessage(3103, LogLevel.Error, "etcd exited with {Code} ({Failures} quick failure(s) in a row); checking its data directory and restarting it")]
        public static partial void EtcdExited(ILogger logger, int code, int failures);
    }
}
