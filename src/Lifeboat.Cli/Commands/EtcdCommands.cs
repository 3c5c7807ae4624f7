using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Lifeboat.Cli.Output;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Snapshots;

namespace Lifeboat.Cli.Commands;

/// <summary><c>lifeboat etcd ...</c>: snapshots of etcd.</summary>
internal static class EtcdCommands
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static Command Create(CliContext context)
    {
        var etcd = new Command("etcd", "Back up and restore etcd (the Kubernetes object store)");
        var snapshot = new Command("snapshot", "Take snapshots of a live etcd");
        snapshot.Subcommands.Add(CreateFull(context));
        snapshot.Subcommands.Add(EtcdDeltaCommand.Create(context));
        snapshot.Subcommands.Add(EtcdCompactCommand.Create(context));
        etcd.Subcommands.Add(snapshot);
        etcd.Subcommands.Add(EtcdRestoreCommand.Create(context));
        etcd.Subcommands.Add(EtcdInitCommand.Create(context));
        etcd.Subcommands.Add(EtcdRunCommand.Create(context));
        etcd.Subcommands.Add(EtcdServeCommand.Create(context));
        var snapshots = new Command("snapshots", "Inspect the snapshots in a store");
        snapshots.Subcommands.Add(CreateList(context));
        snapshots.Subcommands.Add(EtcdSnapshotsCommands.Verify(context));
        snapshots.Subcommands.Add(EtcdSnapshotsCommands.Describe(context));
        snapshots.Subcommands.Add(EtcdPruneCommand.Create(context));
        snapshots.Subcommands.Add(CopyCommands.EtcdSnapshots(context));
        etcd.Subcommands.Add(snapshots);
        return etcd;
    }

    private static Command CreateFull(CliContext context)
    {
        var connection = new EtcdConnectionOptions();
        var store = new StoreOptions();
        var output = OutputFormats.Option();
        var command = new Command("full", "Stream a full snapshot of etcd into the store, verified and named by the revision it holds");
        connection.AddTo(command);
        store.AddTo(command, writes: true);
        command.Options.Add(output);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var clientOptions = connection.Read(parse);
            var compression = store.CompressionFor(parse);
            using var client = new EtcdClient(clientOptions, context.Loggers.CreateLogger("Lifeboat.Etcd"));
            await client.StatusAsync(null, cancellationToken); // etcd reachable before anything is created in the store
            var target = store.Open(parse, context.Time);
            var snapshotter = new FullSnapshotter(client, target, context.Time, context.Loggers.CreateLogger("Lifeboat.Etcd.Snapshots"));
            var result = await TransferProgress.RunAsync(context, "full snapshot",
                progress => snapshotter.TakeAsync(compression, progress, cancellationToken));
            if (parse.GetValue(output).IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, parse.GetValue(output), result);
            }
            else
            {
                var rate = result.DatabaseBytes / Math.Max(result.Duration.TotalSeconds, 0.001);
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"stored {result.Key} in {target.Location}: revision {result.Name.LastRevision}, {Bytes.Format(result.StoredBytes)} " +
                    $"({Bytes.Format(result.DatabaseBytes)} database) in {result.Duration.TotalSeconds:0.00} s, {Bytes.Format(rate)}/s, sha256 {result.DatabaseSha256}"));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateList(CliContext context)
    {
        var store = new StoreOptions();
        var output = OutputFormats.Option(OutputFormat.Table);
        var command = new Command("list", "List the etcd snapshots in a store, in chain order");
        store.AddTo(command);
        command.Options.Add(output);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var source = store.Open(parse, context.Time, create: false);
            var snapshots = await SnapshotCatalog.ListAsync(source, cancellationToken);
            // The store's cluster is that of its newest full snapshot; a file named for another is marked (its name
            // says where it came from; restore and verify check its content).
            var cluster = snapshots.LastOrDefault(s => s.Name.Kind == SnapshotKind.Full && s.Name.ClusterId is not null)?.Name.ClusterId;
            bool Other(StoredSnapshot s) => s.Name.ClusterId is { } c && cluster is { } own && c != own;
            if (parse.GetValue(output).IsStructured())
            {
                var rows = snapshots.Select(s => new
                {
                    s.Key,
                    clusterId = s.Name.ClusterId is { } c ? ChainIdentity.Hex(c) : null,
                    otherCluster = Other(s),
                    s.Name.Kind,
                    s.Name.FirstRevision,
                    s.Name.LastRevision,
                    s.Name.CreatedAt,
                    s.Name.Compression,
                    Encrypted = s.Name.EncryptionKeyId is not null,
                    s.Name.EncryptionKeyId,
                    s.Stored.Size,
                });
                var spans = RestorePlanner.Chains(snapshots).Select(c => new
                {
                    full = c.Full.Key,
                    c.FirstRevision,
                    c.LastRevision,
                    c.FirstTime,
                    c.LastTime,
                    deltas = c.Deltas.Count,
                    gapAtRevision = c.GapAfter,
                });
                await OutputFormats.WriteAsync(context.Output, parse.GetValue(output), new { store = source.Location, snapshots = rows, restorable = spans });
                return ExitCodes.Success;
            }

            if (snapshots.Count == 0)
            {
                await context.Error.WriteLineAsync($"no etcd snapshots in {source.Location}");
                return ExitCodes.Success;
            }

            var table = new TextTable("KIND", "FIRST", "LAST", "CREATED (UTC)", "SIZE", "COMPRESSION", "ENCRYPTION", "CLUSTER", "KEY");
            foreach (var s in snapshots)
            {
                var origin = s.Name.ClusterId is { } c ? ChainIdentity.Hex(c) + (Other(s) ? " OTHER" : "") : "-";
                table.Add(
                    s.Name.Kind == SnapshotKind.Full ? "full" : "delta",
                    s.Name.Kind == SnapshotKind.Full ? "-" : s.Name.FirstRevision.ToString(CultureInfo.InvariantCulture),
                    s.Name.LastRevision.ToString(CultureInfo.InvariantCulture),
                    s.Name.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    Bytes.Format(s.Stored.Size),
                    s.Name.Compression.ToString().ToLowerInvariant(),
                    s.Name.EncryptionKeyId ?? "none",
                    origin,
                    s.Key);
            }

            await table.WriteToAsync(context.Output);
            if (snapshots.Count(Other) is > 0 and var others)
            {
                await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"warning: {others} snapshot(s) marked OTHER come from another etcd cluster than the newest full snapshot (cluster {ChainIdentity.Hex(cluster!.Value)}) — fix: move them out of this store; restores refuse chains that mix clusters"));
            }

            await context.Output.WriteLineAsync();
            foreach (var chain in RestorePlanner.Chains(snapshots))
            {
                var gap = chain.GapAfter is { } g ? string.Create(CultureInfo.InvariantCulture, $"; gap: revision {g} is in no delta") : "";
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"restorable: revisions {chain.FirstRevision}..{chain.LastRevision}, {chain.FirstTime:yyyy-MM-dd HH:mm:ss}..{chain.LastTime:yyyy-MM-dd HH:mm:ss} UTC (full {chain.Full.Key}, {chain.Deltas.Count} deltas){gap}"));
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
