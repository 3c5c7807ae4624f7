using System.CommandLine;
using System.Globalization;
using Lifeboat.Cli.Output;
using Lifeboat.Core.Restore;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd.Snapshots;

namespace Lifeboat.Cli.Commands;

/// <summary><c>lifeboat etcd snapshots verify</c> and <c>describe</c>: read stored snapshots end to end without restoring.</summary>
internal static class EtcdSnapshotsCommands
{
    public static Command Verify(CliContext context)
    {
        var store = new StoreOptions();
        var keys = new Argument<string[]>("key") { Description = "Snapshots to verify, as `etcd snapshots list` shows them (default: the newest chain)", Arity = ArgumentArity.ZeroOrMore };
        keys.Validators.Add(NoFlags);
        var all = new Option<bool>("--all") { Description = "Verify every snapshot in the store, and every chain's contiguity" };
        var output = OutputFormats.Option(OutputFormat.Table);
        var command = new Command("verify",
            "Read stored snapshots end to end as a restore would, without restoring: compression, encryption, SHA-256, the bbolt database and the " +
            "revision it holds (full), structure, revisions and checksum (delta), and that the chain misses no revision. " +
            "Exit 0 when all are good, 6 naming each damaged one.");
        store.AddTo(command);
        command.Arguments.Add(keys);
        command.Options.Add(all);
        command.Options.Add(output);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var given = parse.GetValue(keys) ?? [];
            if (given.Length > 0 && parse.GetValue(all))
            {
                throw new ArgumentException("give snapshot keys or --all, not both");
            }

            var source = store.Open(parse, context.Time, create: false);
            var snapshots = await SnapshotCatalog.ListAsync(source, cancellationToken);
            var chains = RestorePlanner.Chains(snapshots);
            List<StoredSnapshot> selected;
            var gaps = new List<string>();
            if (given.Length > 0)
            {
                selected = given.Select(k => Find(snapshots, k, source)).ToList();
            }
            else if (parse.GetValue(all))
            {
                selected = [.. snapshots];
                // A hole after an older chain is not damage when a later full snapshot starts past it (a new chain began,
                // as after etcd compacted the history a delta needed); within the newest chain, or not superseded, it is.
                var newest = RestorePlanner.Newest(chains);
                gaps.AddRange(chains.Where(c => c == newest || c.GapAfter is not { } g || !chains.Any(o => o.FirstRevision >= g)).SelectMany(SnapshotVerifier.Gaps));
            }
            else
            {
                var newest = RestorePlanner.Newest(chains)
                    ?? throw new RestorePlanException($"{source.Location} holds no full snapshot, so there is no chain to verify", "check --store, or pass --all");
                selected = [newest.Full, .. newest.Deltas];
                gaps.AddRange(SnapshotVerifier.Gaps(newest));
            }

            var verifier = new SnapshotVerifier(source);
            var checks = new List<SnapshotCheck>();
            foreach (var snapshot in selected)
            {
                checks.Add(await verifier.CheckAsync(snapshot, cancellationToken));
            }

            // Files that do not belong to their chain (another cluster's, or written after another file), per chain checked.
            var byKey = checks.ToDictionary(c => c.Snapshot.Key);
            var foreign = chains.Where(c => byKey.ContainsKey(c.Full.Key)).SelectMany(c => SnapshotVerifier.Foreign(c, byKey)).Distinct().ToList();
            gaps.AddRange(foreign);
            var warnings = chains.Where(c => byKey.ContainsKey(c.Full.Key) && byKey[c.Full.Key].Identity is not null)
                .SelectMany(c => ChainIdentity.Unchecked(byKey[c.Full.Key].Identity!,
                    [.. c.Deltas.Select(d => byKey.TryGetValue(d.Key, out var k) ? k.Identity : null).OfType<FileIdentity>()]))
                .Distinct().ToList();
            foreach (var warning in warnings)
            {
                await context.Error.WriteLineAsync("warning: " + warning);
            }

            var format = parse.GetValue(output);
            if (format.IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, format, new
                {
                    store = source.Location,
                    ok = checks.All(c => c.Ok) && gaps.Count == 0,
                    snapshots = checks.Select(Row),
                    gaps = gaps.Except(foreign),
                    foreign,
                    warnings,
                });
            }
            else
            {
                var table = new TextTable("KIND", "FIRST", "LAST", "SIZE", "RESULT", "KEY");
                foreach (var c in checks)
                {
                    var name = c.Snapshot.Name;
                    table.Add(name.Kind == SnapshotKind.Full ? "full" : "delta",
                        name.Kind == SnapshotKind.Full ? "-" : name.FirstRevision.ToString(CultureInfo.InvariantCulture),
                        name.LastRevision.ToString(CultureInfo.InvariantCulture), Bytes.Format(c.Snapshot.Stored.Size),
                        c.Ok ? "ok" : "DAMAGED: " + c.Problem, c.Snapshot.Key);
                }

                await table.WriteToAsync(context.Output);
                foreach (var gap in gaps)
                {
                    await context.Output.WriteLineAsync((foreign.Contains(gap) ? "FOREIGN: " : "GAP: ") + gap);
                }
            }

            var damaged = checks.Where(c => !c.Ok).Select(c => $"{c.Snapshot.Key} ({c.Problem})").Concat(gaps).ToList();
            if (damaged.Count > 0)
            {
                await context.Error.WriteLineAsync($"error: {damaged.Count} problem(s) in {checks.Count} snapshot(s) of {source.Location}: {string.Join("; ", damaged)} " +
                    "— fix: restore from a chain without them (etcd restore --to-revision or --to-time before the first), and take a new full snapshot");
                return ExitCodes.IntegrityError;
            }

            if (!format.IsStructured())
            {
                await context.Error.WriteLineAsync($"verified {checks.Count} snapshot(s): all good");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Describe(CliContext context)
    {
        var store = new StoreOptions();
        var key = new Argument<string>("key") { Description = "The snapshot, as `etcd snapshots list` shows it" };
        key.Validators.Add(NoFlags);
        var output = OutputFormats.Option();
        var command = new Command("describe",
            "Show one stored snapshot: revisions, sizes, codec, encryption key id, checksums, creation time and the chain it belongs to. " +
            "It is read end to end, so the checksums are its real ones; exit 6 when it is damaged.");
        store.AddTo(command);
        command.Arguments.Add(key);
        command.Options.Add(output);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var source = store.Open(parse, context.Time, create: false);
            var snapshots = await SnapshotCatalog.ListAsync(source, cancellationToken);
            var snapshot = Find(snapshots, parse.GetValue(key)!, source);
            var check = await new SnapshotVerifier(source).CheckAsync(snapshot, cancellationToken);
            var chain = RestorePlanner.Chains(snapshots).Where(c => c.Full == snapshot || c.Deltas.Contains(snapshot)).MaxBy(c => c.FirstRevision);
            var format = parse.GetValue(output);
            var row = Row(check);
            var chainInfo = chain is null ? null : new
            {
                full = chain.Full.Key,
                position = chain.Full == snapshot ? 0 : chain.Deltas.ToList().IndexOf(snapshot) + 1,
                deltas = chain.Deltas.Count,
                chain.FirstRevision,
                chain.LastRevision,
                chain.FirstTime,
                chain.LastTime,
                gaps = SnapshotVerifier.Gaps(chain),
            };
            if (format.IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, format, new { snapshot = row, chain = chainInfo });
            }
            else
            {
                var name = snapshot.Name;
                var lines = new List<string>
                {
                    $"Key:          {snapshot.Key}",
                    $"Kind:         {(name.Kind == SnapshotKind.Full ? "full" : "delta")}",
                    string.Create(CultureInfo.InvariantCulture, $"Revisions:    {(name.Kind == SnapshotKind.Full ? $"all keys at {name.LastRevision}" : $"{name.FirstRevision}..{name.LastRevision}")}"),
                    $"Created:      {name.CreatedAt:yyyy-MM-dd HH:mm:ss} UTC",
                    $"Stored:       {Bytes.Format(snapshot.Stored.Size)} ({snapshot.Stored.Size} bytes), sha256 {check.StoredSha256}",
                    $"Compression:  {name.Compression.ToString().ToLowerInvariant()}",
                    $"Encryption:   {(name.EncryptionKeyId is { } id ? $"AES-256-GCM, key {id}" : "none")}",
                };
                if (check.DatabaseBytes is { } db)
                {
                    lines.Add($"Database:     {Bytes.Format(db)} ({db} bytes), page size {check.PageSize}");
                }

                if (check.Records is { } records)
                {
                    lines.Add(string.Create(CultureInfo.InvariantCulture, $"Content:      {records} revisions, {check.Changes} changes"));
                }

                if (check.Identity is { } identity)
                {
                    lines.Add(identity.ClusterId is { } cluster
                        ? $"Origin:       etcd cluster {ChainIdentity.Hex(cluster)}, member {ChainIdentity.Hex(identity.MemberId ?? 0)}"
                        : "Origin:       not recorded (written before Lifeboat recorded it)");
                    lines.Add($"Sha256:       {check.Sha256} (the hash it ends with)");
                    if (name.Kind == SnapshotKind.Delta)
                    {
                        lines.Add($"Continues:    {(identity.PreviousSha256 is { } previous ? $"the file ending in sha256 {Convert.ToHexStringLower(previous)}" : "not recorded")}");
                    }
                }

                lines.Add($"Check:        {(check.Ok ? "ok (read end to end)" : "DAMAGED: " + check.Problem)}");
                if (chainInfo is not null)
                {
                    lines.Add(string.Create(CultureInfo.InvariantCulture,
                        $"Chain:        {chainInfo.full} + {chainInfo.deltas} deltas, revisions {chainInfo.FirstRevision}..{chainInfo.LastRevision}; this is {(chainInfo.position == 0 ? "its full snapshot" : $"delta {chainInfo.position} of {chainInfo.deltas}")}"));
                }
                else
                {
                    lines.Add("Chain:        none (no full snapshot before this delta: it cannot be restored from)");
                }

                foreach (var line in lines)
                {
                    await context.Output.WriteLineAsync(line);
                }
            }

            if (!check.Ok)
            {
                await context.Error.WriteLineAsync($"error: {snapshot.Key} is damaged: {check.Problem} — fix: restore from another chain, and take a new full snapshot");
                return ExitCodes.IntegrityError;
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static object Row(SnapshotCheck c) => new
    {
        key = c.Snapshot.Key,
        kind = c.Snapshot.Name.Kind,
        c.Snapshot.Name.FirstRevision,
        c.Snapshot.Name.LastRevision,
        c.Snapshot.Name.CreatedAt,
        c.Snapshot.Name.Compression,
        c.Snapshot.Name.EncryptionKeyId,
        storedBytes = c.Snapshot.Stored.Size,
        storedSha256 = c.StoredSha256,
        c.DatabaseBytes,
        c.Sha256,
        previousSha256 = c.Identity?.PreviousSha256 is { } previous ? Convert.ToHexStringLower(previous) : null,
        c.PageSize,
        revisions = c.Records,
        c.Changes,
        clusterId = c.ClusterId?.ToString("x16", CultureInfo.InvariantCulture),
        memberId = c.MemberId?.ToString("x16", CultureInfo.InvariantCulture),
        ok = c.Ok,
        problem = c.Problem,
    };

    /// <summary>A key argument takes any word, so a mistyped flag would land there: refuse it as the flag it is.</summary>
    private static void NoFlags(System.CommandLine.Parsing.ArgumentResult result)
    {
        if (result.Tokens.FirstOrDefault(t => t.Value.StartsWith('-')) is { } flag)
        {
            result.AddError($"unknown flag '{flag.Value}' (snapshot keys do not start with '-')");
        }
    }

    /// <summary>A snapshot by its key as listed, or by its file name alone.</summary>
    private static StoredSnapshot Find(IReadOnlyList<StoredSnapshot> snapshots, string key, ISnapshotStore store) =>
        snapshots.FirstOrDefault(s => s.Key == key || s.Key.EndsWith("/" + key, StringComparison.Ordinal))
        ?? throw new RestorePlanException($"{store.Location} holds no snapshot {key}", "see lifeboat etcd snapshots list for the keys");
}
