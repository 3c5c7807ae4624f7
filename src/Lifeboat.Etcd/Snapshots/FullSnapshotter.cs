using System.Security.Cryptography;
using Lifeboat.Core.Codecs;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd.Bolt;
using Lifeboat.Etcd.Client;
using Lifeboat.Etcd.Snapshots.Format;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeboat.Etcd.Snapshots;

/// <summary>
/// Takes full snapshots: streams Maintenance.Snapshot from one member straight into the store, hashing and scanning it
/// on the way, and commits it under a name that carries the revision the database really holds.
/// </summary>
/// <remarks>
/// The stored bytes are the bbolt database as etcd sent it, Lifeboat's <see cref="IdentityBlock"/> (the cluster and
/// member it came from), then the SHA-256 of both, optionally compressed. etcd's own hash of the database is checked
/// on the way. An uncompressed snapshot restores with <c>etcdctl snapshot restore</c>, which checks the final hash.
/// The revision is read from the database itself (<see cref="BoltRevisionScanner"/>), never from a call made before
/// the stream, which under concurrent writes is older than the content. Nothing is visible in the store unless the
/// stream completed, etcd's hash matched and the revision was found.
/// </remarks>
public sealed class FullSnapshotter(EtcdClient client, ISnapshotStore store, TimeProvider? time = null, ILogger? logger = null)
{
    private const int EtcdHashLength = 32;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    public async Task<FullSnapshotResult> TakeAsync(Compression compression, IProgress<SnapshotProgress>? progress, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var status = await client.StatusAsync(null, cancellationToken);
        var (clusterId, memberId) = (status.Header.ClusterId, status.Header.MemberId);
        var endpoint = client.CurrentEndpoint; // stream from the member we just asked, not one that may lag behind it
        EtcdLog.SnapshotStarted(_logger, endpoint.ToString(), status.Header.Revision, status.DbSize);

        var dbBytes = 0L;
        await using var write = await store.BeginWriteAsync(cancellationToken);
        try
        {
            var (hash, fileHash, bolt) = await StreamAsync(endpoint, write.Content, compression, progress, b => dbBytes = b,
                (clusterId, memberId), cancellationToken);
            if (bolt.Revision < status.Header.Revision)
            {
                throw new IntegrityException(
                    $"the snapshot from {endpoint} holds revision {bolt.Revision}, older than the {status.Header.Revision} that member reported before it",
                    "take the snapshot again; if it repeats, check that member's health");
            }

            var name = SnapshotName.Full(bolt.Revision, _time.GetUtcNow(), compression) with { ClusterId = clusterId };
            var key = SnapshotLayout.ToKey(name);
            var stored = await write.CommitAsync(key, overwrite: false, cancellationToken);
            (key, name) = Committed(stored, key, name); // an encrypting store adds the key id to the name
            var duration = _time.GetElapsedTime(started);
            EtcdLog.SnapshotStored(_logger, key, bolt.Revision, stored.Size, duration.TotalSeconds);
            return new FullSnapshotResult(key, name, stored.Size, dbBytes, Convert.ToHexStringLower(hash), status.Header.Revision,
                endpoint.ToString(), duration)
            {
                Sha256 = fileHash,
                MemberId = memberId,
            };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            EtcdLog.SnapshotFailed(_logger, dbBytes, ex.Message);
            throw;
        }
    }

    /// <summary>
    /// Stores a database file written by Lifeboat (a compacted chain) as a full snapshot, in the same form as one
    /// streamed from etcd: the database, the identity block, the SHA-256 of both; named by the revision it holds.
    /// </summary>
    /// <param name="identity">The cluster and member of the chain it was written from.</param>
    public static async Task<FullSnapshotResult> StoreDatabaseAsync(ISnapshotStore store, string database, Compression compression,
        (ulong ClusterId, ulong MemberId)? identity, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        var started = time.GetTimestamp();
        var (clusterId, memberId) = identity ?? (0, 0);
        await using var write = await store.BeginWriteAsync(cancellationToken);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var scanner = new BoltRevisionScanner();
        long bytes = 0;
        byte[] databaseHash, fileHash;
        BoltRevision bolt;
        var sink = SnapshotCodec.Compressing(write.Content, compression);
        try
        {
            await using (var input = new FileStream(database, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan | FileOptions.Asynchronous))
            {
                var buffer = new byte[1 << 20];
                int read;
                while ((read = await input.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    sha.AppendData(buffer, 0, read);
                    scanner.Append(buffer.AsSpan(0, read));
                    await sink.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    bytes += read;
                }
            }

            databaseHash = sha.GetCurrentHash();
            bolt = scanner.Complete();
            fileHash = await SealAsync(sink, sha, clusterId, memberId, bolt.Revision, time, cancellationToken);
        }
        finally
        {
            await sink.DisposeAsync();
        }

        var name = SnapshotName.Full(bolt.Revision, time.GetUtcNow(), compression) with { ClusterId = identity is null ? null : clusterId };
        var key = SnapshotLayout.ToKey(name);
        var stored = await write.CommitAsync(key, overwrite: false, cancellationToken);
        (key, name) = Committed(stored, key, name);
        return new FullSnapshotResult(key, name, stored.Size, bytes, Convert.ToHexStringLower(databaseHash), bolt.Revision, database, time.GetElapsedTime(started))
        {
            Sha256 = fileHash,
            MemberId = memberId,
        };
    }

    /// <summary>The key and name the store really committed under (it may add to the key, never change what it means).</summary>
    internal static (string Key, SnapshotName Name) Committed(StoredObject stored, string key, SnapshotName name) =>
        stored.Key == key ? (key, name)
        : SnapshotLayout.TryParse(stored.Key, out var actual) && actual with { EncryptionKeyId = null } == name ? (stored.Key, actual)
        : throw new InvalidOperationException($"the store committed {key} as {stored.Key}, which is not the same snapshot");

    /// <summary>
    /// Ends a full snapshot whose database has gone into <paramref name="sink"/> (and <paramref name="sha"/>): the
    /// identity block, then the SHA-256 of database and block; then the compression's trailer, before the commit.
    /// </summary>
    /// <returns>The SHA-256 the file ends with.</returns>
    private static async Task<byte[]> SealAsync(Stream sink, IncrementalHash sha, ulong clusterId, ulong memberId, long revision, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var block = IdentityBlock.Write(new FullSnapshotIdentity
        {
            FormatVersion = IdentityBlock.FormatVersion,
            ClusterId = clusterId,
            MemberId = memberId,
            Revision = revision,
            CreatedUnixSeconds = time.GetUtcNow().ToUnixTimeSeconds(),
        });
        sha.AppendData(block);
        var fileHash = sha.GetHashAndReset();
        await sink.WriteAsync(block, cancellationToken);
        await sink.WriteAsync(fileHash, cancellationToken);
        await sink.DisposeAsync();
        return fileHash;
    }

    /// <returns>etcd's hash of the database, the hash that ends the file (over database and identity), and what the database holds.</returns>
    private async Task<(byte[] Hash, byte[] FileHash, BoltRevision Bolt)> StreamAsync(Uri endpoint, Stream destination, Compression compression,
        IProgress<SnapshotProgress>? progress, Action<long> onBytes, (ulong ClusterId, ulong MemberId) identity, CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var scanner = new BoltRevisionScanner();
        var sink = SnapshotCodec.Compressing(destination, compression);
        try
        {
            long received = 0;
            long? total = null;
            var dataDone = false;
            byte[]? etcdHash = null;
            await foreach (var message in client.SnapshotChunksAsync(endpoint, cancellationToken))
            {
                if (dataDone)
                {
                    if (etcdHash is not null)
                    {
                        throw new IntegrityException($"{endpoint} sent more after the snapshot's hash", "take the snapshot again");
                    }

                    etcdHash = message.Blob.ToArray();
                    continue;
                }

                var blob = message.Blob;
                total ??= received + blob.Length + (long)message.RemainingBytes;
                sha.AppendData(blob.Span);
                scanner.Append(blob.Span);
                await sink.WriteAsync(blob, cancellationToken);
                received += blob.Length;
                onBytes(received);
                progress?.Report(new SnapshotProgress(received, total));
                dataDone = message.RemainingBytes == 0;
            }

            if (!dataDone || etcdHash is null)
            {
                throw new IntegrityException(
                    $"the snapshot stream from {endpoint} ended early ({received} of {total?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} bytes{(dataDone ? ", no hash" : "")})",
                    "etcd may have stopped mid-stream; take the snapshot again");
            }

            var computed = sha.GetCurrentHash();
            if (etcdHash.Length != EtcdHashLength || !CryptographicOperations.FixedTimeEquals(computed, etcdHash))
            {
                throw new IntegrityException(
                    $"the snapshot from {endpoint} does not match the hash etcd sent with it ({received} bytes)",
                    "take the snapshot again; if it repeats, the member's database or the network corrupts data");
            }

            var bolt = scanner.Complete();
            var fileHash = await SealAsync(sink, sha, identity.ClusterId, identity.MemberId, bolt.Revision, _time, cancellationToken);
            return (computed, fileHash, bolt);
        }
        finally
        {
            await sink.DisposeAsync();
        }
    }
}
