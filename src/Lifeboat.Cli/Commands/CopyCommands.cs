using System.CommandLine;
using System.Globalization;
using Lifeboat.Cli.Output;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd.Snapshots;
using Lifeboat.Kubernetes.Resources;
using Lifeboat.Storage.Copy;
using Lifeboat.Storage.Encryption;
using Spectre.Console;

namespace Lifeboat.Cli.Commands;

/// <summary><c>lifeboat etcd snapshots copy</c> and <c>lifeboat resources copy</c>: a store's backups into another store.</summary>
internal static class CopyCommands
{
    public static Command EtcdSnapshots(CliContext context) => Create(context, "etcd snapshot(s)",
        "Copy etcd snapshots from one store to another (any kinds of store): every snapshot the target lacks, in chain order, each read back " +
        "from the target and verified as `snapshots verify` does before it counts. A rerun copies only what is missing, so a killed copy resumes. " +
        "With --to-encryption-key-file, snapshots are re-encrypted with that key. Exit 0 when everything is in the target, 6 naming what could not be copied.",
        async (source, since, cancellationToken) =>
        {
            var snapshots = await SnapshotCatalog.ListAsync(source, cancellationToken);
            return [[.. snapshots.Where(s => since is null || s.Name.CreatedAt >= since).Select(s => s.Stored)]];
        },
        SnapshotLayout.Prefix,
        VerifySnapshotAsync,
        reencrypts: true);

    public static Command Resources(CliContext context) => Create(context, "resource backup object(s)",
        "Copy resource backups from one store to another (any kinds of store): every object the target lacks, archives before the manifests " +
        "that make a backup listed, each read back and checked by SHA-256. A rerun copies only what is missing. Backups are copied as stored " +
        "(encrypted ones stay encrypted with their key). Exit 0 when everything is in the target, 6 naming what could not be copied.",
        async (source, since, cancellationToken) =>
        {
            var objects = await source.ListAsync(ResourceBackupCatalog.Prefix, cancellationToken).ToListAsync(cancellationToken);
            // A backup is listed by its manifest, so the manifests are a second phase: a copy that stops, or an archive
            // that cannot be copied, never leaves a listed backup without its archive.
            static bool IsManifest(StoredObject o) => StoreCopier.Plain(o.Key).EndsWith("/lifeboat-backup.json", StringComparison.Ordinal);
            var recent = since is null ? null : objects.Where(o => IsManifest(o) && o.LastModified >= since).Select(o => Dir(o.Key)).ToHashSet();
            var selected = objects.Where(o => recent is null || recent.Contains(Dir(o.Key))).OrderBy(o => o.Key, StringComparer.Ordinal).ToList();
            return [[.. selected.Where(o => !IsManifest(o))], [.. selected.Where(IsManifest)]];
        },
        ResourceBackupCatalog.Prefix,
        StoreCopier.HashMatchesAsync,
        reencrypts: false);

    /// <summary>A location compared as a store: a directory by its full path, a URL without a trailing slash.</summary>
    internal static string Normalize(string location) => location.Contains("://", StringComparison.Ordinal) && !location.StartsWith("file://", StringComparison.OrdinalIgnoreCase)
        ? location.TrimEnd('/')
        : Path.GetFullPath(location.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? new Uri(location).LocalPath : location).TrimEnd('/');

    private static string Dir(string key) => key[..(key.LastIndexOf('/') + 1)];

    /// <param name="select">What to copy, in phases: an object of a later phase is left out when one in its directory failed earlier.</param>
    /// <param name="reencrypts">Whether --to-encryption-key-file is offered.</param>
    private static Command Create(CliContext context, string what, string description,
        Func<ISnapshotStore, DateTimeOffset?, CancellationToken, Task<List<List<StoredObject>>>> select, string prefix,
        Func<ISnapshotStore, StoredObject, string, CancellationToken, Task<string?>> verify, bool reencrypts)
    {
        var from = new StoreOptions("--from");
        var to = new StoreOptions("--to", "to-");
        var since = new Option<DateTimeOffset?>("--since")
        {
            Description = "Copy only what was written at or after this time, e.g. 2026-11-21T09:30:00Z (default: everything)",
        }.Instant();
        var parallel = new Option<int>("--parallel")
        {
            Description = "Objects copied at the same time (1 copies in order, so that a copy that stops leaves a chain without holes)",
            DefaultValueFactory = _ => 1,
        }.Integer(min: 1, max: 32);
        var command = new Command("copy", description);
        from.AddTo(command);
        to.AddTo(command);
        command.Options.Add(since);
        command.Options.Add(parallel);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var toSettings = to.Read(parse);
            if (!reencrypts && toSettings.EncryptionKeyFile is { Length: > 0 })
            {
                // A resource backup's manifest names its archive with the key's id, so an archive under a new key would not be found.
                throw new ArgumentException("resources copy copies backups as stored and does not re-encrypt them: leave out --to-encryption-key-file " +
                    "(encrypted backups stay encrypted with their key), or take a new backup with the new key");
            }

            var (fromLocation, toLocation) = (from.Read(parse).Location, toSettings.Location);
            if (string.Equals(Normalize(fromLocation), Normalize(toLocation), StringComparison.Ordinal))
            {
                throw new ArgumentException($"--from and --to are the same store ({fromLocation}): name another store to copy to");
            }

            var (source, sourceKeys) = from.OpenRaw(parse, context.Time, create: false);
            var (target, targetKeys) = to.OpenRaw(parse, context.Time);

            var phases = await select(source, parse.GetValue(since), cancellationToken);
            var objects = phases.SelectMany(p => p).ToList();
            var copier = new StoreCopier(source, sourceKeys, target, targetKeys) { Parallelism = parse.GetValue(parallel), VerifyAsync = verify };
            var result = await ProgressDisplay.RunAsync<CopyProgress, CopyResult>(context, "copy",
                [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn()],
                (task, p, elapsed) =>
                {
                    task.MaxValue = Math.Max(1, p.TotalBytes);
                    task.IsIndeterminate = false;
                    task.Value = p.Bytes;
                    task.Description = $"copy: {Describe(p, elapsed)}";
                },
                Describe,
                async progress =>
                {
                    var total = new CopyResult(0, 0, 0, [], []);
                    foreach (var phase in phases)
                    {
                        var failedDirs = total.FailedKeys.Select(Dir).ToHashSet();
                        var left = phase.Where(o => failedDirs.Contains(Dir(o.Key))).ToList();
                        total = total.Then(new CopyResult(0, 0, 0, [.. left.Select(o => $"{o.Key}: not copied, since an object beside it was not")], []))
                            .Then(await copier.CopyAsync([.. phase.Except(left)], prefix, progress, cancellationToken));
                    }

                    return total;
                });
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"copied {result.Copied} {what} ({Bytes.Format(result.Bytes)}) from {source.Location} to {target.Location}; {result.Present} already there"));
            if (!result.Ok)
            {
                await context.Error.WriteLineAsync($"error: {result.Failures.Count} of {objects.Count} not copied: {string.Join("; ", result.Failures)} " +
                    "— fix: a damaged source object cannot be copied (check it with the verify command); a missing key: pass it with --decryption-key-file");
                return ExitCodes.IntegrityError;
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static string Describe(CopyProgress p, TimeSpan elapsed) => string.Create(CultureInfo.InvariantCulture,
        $"{p.Objects} of {p.TotalObjects} object(s), {Bytes.Format(p.Bytes)} of {Bytes.Format(p.TotalBytes)}, {Bytes.Format(p.Bytes / Math.Max(elapsed.TotalSeconds, 0.001))}/s");

    /// <summary>
    /// A copied snapshot read back as <c>snapshots verify</c> reads it (compression, database or delta structure, revisions),
    /// with the SHA-256 of its stored bytes equal to what was copied. One still encrypted with a key not given can only be
    /// compared by its hash.
    /// </summary>
    private static async Task<string?> VerifySnapshotAsync(ISnapshotStore target, StoredObject written, string sha256, CancellationToken cancellationToken)
    {
        if (!SnapshotLayout.TryParse(written.Key, out var name) || (name.EncryptionKeyId is not null && target is not EncryptedStore))
        {
            return await StoreCopier.HashMatchesAsync(target, written, sha256, cancellationToken);
        }

        var check = await new SnapshotVerifier(target).CheckAsync(new StoredSnapshot(name, written), cancellationToken);
        return check.Problem ?? (check.StoredSha256 == sha256 ? null : $"read back with SHA-256 {check.StoredSha256}, written with {sha256}");
    }
}
