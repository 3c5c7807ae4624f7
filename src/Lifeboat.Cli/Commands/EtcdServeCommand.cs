using System.CommandLine;
using Lifeboat.Cli.Hosting;
using Lifeboat.Cli.Output;
using Lifeboat.Core.Retention;
using Lifeboat.Core.Scheduling;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Etcd.Init;
using Lifeboat.Storage;
using Lifeboat.Storage.Buffering;
using Lifeboat.Storage.Encryption;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lifeboat.Cli.Commands;

/// <summary><c>lifeboat etcd serve</c>: the backup sidecar beside an etcd member.</summary>
internal static partial class EtcdServeCommand
{
    [LoggerMessage(2000, LogLevel.Information, "Effective configuration: {Configuration}")]
    private static partial void LogConfiguration(ILogger logger, string configuration);

    private static string Env(string name, string fallback) => Environment.GetEnvironmentVariable(name) ?? fallback;

    public static Command Create(CliContext context)
    {
        var connection = new EtcdConnectionOptions();
        var store = new StoreOptions();
        var mirror = new StoreOptions("--mirror-store", "mirror-");
        var schedule = new Option<string>("--full-schedule")
        {
            Description = "When full snapshots are taken: 5 cron fields or @hourly/@daily [env: LIFEBOAT_FULL_SCHEDULE]",
            DefaultValueFactory = _ => Env("LIFEBOAT_FULL_SCHEDULE", "0 0 * * *"),
        };
        var zone = new Option<string?>("--time-zone") { Description = "Time zone of --full-schedule (IANA name; default UTC) [env: LIFEBOAT_TIME_ZONE]", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("LIFEBOAT_TIME_ZONE") };
        var period = new Option<TimeSpan>("--delta-period")
        {
            Description = "How often buffered changes are written as a delta [env: LIFEBOAT_DELTA_PERIOD]",
            DefaultValueFactory = r => Values.DurationFromEnvironment(r, "LIFEBOAT_DELTA_PERIOD", TimeSpan.FromMinutes(5)),
        }.Duration(TimeSpan.FromSeconds(1));
        var maxBytes = new Option<long>("--delta-max-bytes") { Description = "Write a delta early when buffered changes pass this size", DefaultValueFactory = _ => DeltaOptions.DefaultMaxBytes }.Integer(min: 1024);
        var retention = new Option<string>("--retention") { Description = "Retention policy [env: LIFEBOAT_RETENTION]", HelpName = "limit|exponential", DefaultValueFactory = _ => Env("LIFEBOAT_RETENTION", "limit") };
        retention.AcceptOnlyFromAmong("limit", "exponential");
        var keep = new Option<int>("--keep") { Description = "limit: full snapshots kept, with their deltas", DefaultValueFactory = _ => 7 }.Integer(min: 1);
        var listen = new Option<string>("--listen") { Description = "Address of the HTTP API [env: LIFEBOAT_LISTEN]", DefaultValueFactory = _ => Env("LIFEBOAT_LISTEN", "127.0.0.1:8080") };
        var bufferDir = new Option<string?>("--buffer-dir")
        {
            Description = "Local directory where deltas wait while the store cannot be reached, uploaded in order when it is back " +
                "(use a volume that survives restarts) [env: LIFEBOAT_BUFFER_DIR]",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("LIFEBOAT_BUFFER_DIR"),
        };
        var bufferMax = new Option<long>("--buffer-max-bytes")
        {
            Description = "Most bytes --buffer-dir holds; past it, deltas are captured again from etcd's history once the store is back",
            DefaultValueFactory = _ => SidecarOptions.DefaultBufferMaxBytes,
        }.Integer(min: 1);
        var member = new MemberOptions();
        var dataDir = new Option<string?>("--data-dir")
        {
            Description = "etcd's data directory, for POST /initialization/start (with etcd's member flags) [env: LIFEBOAT_DATA_DIR]",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("LIFEBOAT_DATA_DIR"),
        };
        var initMode = new Option<InitMode>("--init-mode") { Description = "Depth of the initialization check", DefaultValueFactory = _ => InitMode.Sanity }.OneOf();
        var clusterState = new Option<string>("--initial-cluster-state") { Description = "As for etcd ('existing': a member that joined at runtime)", DefaultValueFactory = _ => "new" };
        clusterState.AcceptOnlyFromAmong("new", "existing");
        var discard = new Option<bool>("--discard-damaged") { Description = "Initialization deletes a damaged data directory after restoring instead of keeping it aside" };
        var tokenFile = new Option<FileInfo?>("--api-token-file") { Description = "File holding the bearer token the API requires (all endpoints but /healthz and /readyz)" };
        var verifyAfterUpload = new Option<bool>("--verify-after-upload")
        {
            Description = "Read every full snapshot back from the store after upload, end to end as a restore would; a damaged one is deleted and taken again " +
                "(lifeboat_snapshot_verified) [env: LIFEBOAT_VERIFY_AFTER_UPLOAD=true]",
            DefaultValueFactory = _ => string.Equals(Environment.GetEnvironmentVariable("LIFEBOAT_VERIFY_AFTER_UPLOAD"), "true", StringComparison.OrdinalIgnoreCase),
        };
        var unauthenticated = new Option<bool>("--allow-unauthenticated")
        {
            Description = "Serve the API on a non-loopback --listen address without --api-token-file (anyone who reaches the port can trigger snapshots and read the configuration)",
        };
        var replaces = new Option<ulong[]>("--replaces-cluster")
        {
            Description = "The store's snapshots of this etcd cluster id are those of a cluster this one replaced (restored with other member flags): " +
                "start a new chain beside them instead of refusing the store. Repeat for several",
            AllowMultipleArgumentsPerToken = false,
        }.ClusterIds();
        var command = new Command("serve",
            "Run the backup sidecar beside an etcd member: full snapshots on a schedule, deltas continuously, retention, and an HTTP API " +
            "(/healthz, /readyz, /metrics, POST /snapshots/full, POST /snapshots/delta, /snapshots/latest, /config).");
        connection.AddTo(command);
        store.AddTo(command, writes: true);
        mirror.AddTo(command);
        member.AddTo(command);
        foreach (var o in new Option[] { schedule, zone, period, maxBytes, retention, keep, listen, bufferDir, bufferMax, dataDir, initMode, clusterState, discard, tokenFile, unauthenticated, verifyAfterUpload, replaces })
        {
            command.Options.Add(o);
        }

        command.Options.Add(new Option<FileInfo?>(ConfigFile.Flag)
        {
            Description = "YAML file of options (keys are these flag names); flags and LIFEBOAT_* variables take precedence over it",
        });

        command.SetAction(async (parse, cancellationToken) =>
        {
            var token = parse.GetValue(tokenFile) is { } file
                ? (File.Exists(file.FullName)
                    ? (await File.ReadAllTextAsync(file.FullName, cancellationToken)).Trim()
                    : throw new ArgumentException($"--api-token-file '{file.FullName}' does not exist"))
                : null;
            if (token is { Length: 0 })
            {
                throw new ArgumentException("--api-token-file is empty: put the token in it, or leave the flag out for no token");
            }

            var endpoint = ListenAddress.Parse(parse.GetValue(listen)!);
            if (!ListenAddress.IsLoopback(endpoint) && token is null && !parse.GetValue(unauthenticated))
            {
                throw new ArgumentException($"--listen {parse.GetValue(listen)} reaches beyond this machine and the API has no token: pass --api-token-file FILE " +
                    "(or listen on 127.0.0.1, or accept an open API with --allow-unauthenticated)");
            }

            var storeSettings = store.Read(parse);
            var mirrorSettings = string.IsNullOrWhiteSpace(parse.GetValue(mirror.Store)) ? null : mirror.Read(parse);
            if (mirrorSettings is not null && string.Equals(CopyCommands.Normalize(mirrorSettings.Location), CopyCommands.Normalize(storeSettings.Location), StringComparison.Ordinal))
            {
                throw new ArgumentException($"--mirror-store is --store ({storeSettings.Location}): name a second store, in another region or account");
            }

            var options = new SidecarOptions
            {
                Etcd = connection.Read(parse),
                Store = storeSettings,
                Keys = storeSettings.LoadKeys(),
                FullSchedule = FullSnapshotSchedule.Parse(parse.GetValue(schedule)!, parse.GetValue(zone)),
                DeltaPeriod = parse.GetValue(period),
                DeltaMaxBytes = parse.GetValue(maxBytes),
                Compression = store.CompressionFor(parse),
                Retention = parse.GetValue(retention) == "exponential" ? new RetentionPolicy.Exponential() : new RetentionPolicy.Limit(parse.GetValue(keep)),
                Listen = parse.GetValue(listen)!,
                VerifyAfterUpload = parse.GetValue(verifyAfterUpload),
                ReplacesClusters = parse.GetValue(replaces) ?? [],
                BufferDir = parse.GetValue(bufferDir) is { Length: > 0 } b ? b : null,
                BufferMaxBytes = parse.GetValue(bufferMax),
                ApiToken = token,
                Mirror = mirrorSettings,
                MirrorKeys = mirrorSettings?.LoadKeys() ?? new(null, []),
                Init = parse.GetValue(dataDir) is { Length: > 0 } dir
                    ? new InitOptions
                    {
                        DataDir = dir,
                        Member = member.Read(parse),
                        CheckMemberIds = parse.GetValue(clusterState) == "new",
                        Mode = parse.GetValue(initMode),
                        DiscardDamaged = parse.GetValue(discard),
                    }
                    : null,
            };
            return await RunAsync(context, options, cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, SidecarOptions options, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (context.Interactive)
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = WriterLoggerProvider.TimestampFormat;
            });
        }
        else
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = WriterLoggerProvider.TimestampFormat.TrimEnd();
            });
        }

        builder.Logging.SetMinimumLevel(context.Verbose ? LogLevel.Debug : LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(ListenAddress.Parse(options.Listen)));
        await using var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Lifeboat.Etcd.Sidecar");
        LogConfiguration(logger, string.Join(", ", options.Redacted().Select(p => $"{p.Key}={p.Value}")));

        using var client = new EtcdClient(options.Etcd, logger);
        var state = new SidecarState(context.Time);
        var metrics = new SidecarMetrics(state, context.Time);
        var primary = new MeteredStore(StoreLocation.Open(options.Store, context.Time, create: true, logger), metrics.Factory);
        using var buffer = options.BufferDir is { } bufferDir
            ? await BufferedStore.OpenAsync(primary, bufferDir, options.BufferMaxBytes, EtcdSidecar.BufferGate(state, primary), logger, cancellationToken)
            : null;
        if (buffer is not null)
        {
            metrics.Buffer(buffer, options.BufferMaxBytes);
        }

        // Encryption outermost: the buffer, the meters and the store only ever see ciphertext and final names.
        var store = EncryptedStore.Wrap(primary, options.Keys);
        var deltaStore = EncryptedStore.Wrap((ISnapshotStore?)buffer ?? primary, options.Keys);
        // The mirror reads the primary as stored: encrypted snapshots are copied as they are unless the mirror has its own key.
        var mirror = options.Mirror is { } m
            ? new SnapshotMirror(primary, options.Keys, StoreLocation.Open(m, context.Time, create: true, logger), options.MirrorKeys, metrics, context.Time, logger)
            : null;
        using var sidecar = new EtcdSidecar(options, store, deltaStore, client, state, metrics, context.Time, logger, mirror);
        var initialization = new InitializationService(options.Init, store, client, options.Etcd.Endpoints[0], context.Time, logger);
        SidecarApi.Map(app, options, sidecar, state, client, store, buffer, initialization, metrics, context.Time);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException ex)
        {
            throw new ArgumentException($"cannot listen on {options.Listen}: {ex.Message}; pick another --listen address", ex);
        }

        using var stopUploads = new CancellationTokenSource();
        var uploads = buffer?.RunUploaderAsync(stopUploads.Token) ?? Task.CompletedTask;
        try
        {
            await sidecar.RunAsync(cancellationToken);
        }
        finally
        {
            await stopUploads.CancelAsync(); // what is still buffered is uploaded by the next run
            try
            {
                await uploads;
            }
            catch (OperationCanceledException)
            {
            }

            await app.StopAsync(CancellationToken.None);
        }

        return ExitCodes.Success;
    }
}
