using System.CommandLine;
using System.Globalization;
using Lifeboat.Cli.Output;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Etcd;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Deltas;
using Lifeboat.Etcd.Snapshots;

namespace Lifeboat.Cli.Commands;

/// <summary><c>lifeboat etcd snapshot delta</c>: the one-shot form of delta capture.</summary>
internal static class EtcdDeltaCommand
{
    public static Command Create(CliContext context)
    {
        var connection = new EtcdConnectionOptions();
        var store = new StoreOptions();
        var maxBytes = new Option<long>("--delta-max-bytes")
        {
            Description = "Largest delta file before compression; more changes are split into several deltas",
            DefaultValueFactory = _ => DeltaOptions.DefaultMaxBytes,
        }.Integer(min: 1024);
        var output = OutputFormats.Option();
        var command = new Command("delta",
            "Capture every change since the store's newest chain ends, up to now, as delta snapshots. When the store has no " +
            "chain, the chain is broken, or etcd has compacted the revisions needed, a new chain starts with a full snapshot (and says so).");
        connection.AddTo(command);
        store.AddTo(command, writes: true);
        command.Options.Add(maxBytes);
        command.Options.Add(output);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(maxBytes) < 64 * 1024)
            {
                throw new ArgumentException("--delta-max-bytes below 64 KiB would make one file per revision");
            }

            var clientOptions = connection.Read(parse);
            var compression = store.CompressionFor(parse);
            using var client = new EtcdClient(clientOptions, context.Loggers.CreateLogger("Lifeboat.Etcd"));
            await client.StatusAsync(null, cancellationToken); // etcd reachable before anything is created in the store
            var target = store.Open(parse, context.Time);
            var chains = RestorePlanner.Chains(await SnapshotCatalog.ListAsync(target, cancellationToken));
            var newest = RestorePlanner.Newest(chains);
            string? newChainReason = newest switch
            {
                null => "the store has no full snapshot",
                { GapAfter: { } gap } => $"the newest chain is broken (revision {gap} is in no delta)",
                _ => null,
            };
            FullSnapshotResult? full = null;
            DeltaCaptureResult? captured = null;
            if (newChainReason is null)
            {
                try
                {
                    var tip = newest!.Deltas.Count > 0 ? newest.Deltas[^1] : newest.Full;
                    var capture = new DeltaCapture(client, target, new DeltaOptions { Compression = compression, MaxBytes = parse.GetValue(maxBytes) },
                        context.Time, context.Loggers.CreateLogger("Lifeboat.Etcd.Deltas"))
                    {
                        PreviousSha256 = (await ChainIdentity.ReadAsync(target, tip, cancellationToken)).Sha256, // a damaged tip is refused (exit 6)
                    };
                    captured = await capture.CaptureToNowAsync(newest!.LastRevision, cancellationToken);
                }
                catch (EtcdCompactedException ex)
                {
                    newChainReason = $"etcd has compacted revision {newest!.LastRevision + 1} away ({ex.Message})";
                }
            }

            if (newChainReason is not null)
            {
                await context.Error.WriteLineAsync($"warning: {newChainReason}; starting a new chain with a full snapshot");
                full = await new FullSnapshotter(client, target, context.Time, context.Loggers.CreateLogger("Lifeboat.Etcd.Snapshots"))
                    .TakeAsync(compression, null, cancellationToken);
            }

            if (parse.GetValue(output).IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, parse.GetValue(output), new { newChain = newChainReason, full, deltas = captured?.Deltas ?? [] });
            }
            else if (full is not null)
            {
                await context.Output.WriteLineAsync($"stored {full.Key}: revision {full.Name.LastRevision} (a new chain)");
            }
            else if (captured!.Deltas.Count == 0)
            {
                await context.Output.WriteLineAsync($"no changes since revision {captured.AfterRevision}: the chain is up to date");
            }
            else
            {
                foreach (var d in captured.Deltas)
                {
                    await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"stored {d.Key}: revisions {d.Name.FirstRevision}..{d.Name.LastRevision}, {d.Changes} changes, {Bytes.Format(d.StoredBytes)}"));
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
