using System.Security.Cryptography;

namespace Lifeboat.Etcd.Snapshots;

/// <summary>
/// Reads a full snapshot as <c>etcdctl snapshot save</c> writes it: the bbolt database followed by the SHA-256 of the
/// database (32 bytes). The database bytes go to a callback as they arrive; the trailing hash is held back and checked
/// at the end. Restore (which writes the bytes out) and verify (which scans them) share it.
/// </summary>
public static class FullSnapshotReader
{
    public const int HashLength = 32;

    /// <summary>The outcome: how many database bytes there were, the hash they have, and the hash the file ends with.</summary>
    public sealed record Result(long DatabaseBytes, byte[] DatabaseSha256, byte[] TrailingHash)
    {
        public bool HashMatches => DatabaseBytes > 0 && CryptographicOperations.FixedTimeEquals(DatabaseSha256, TrailingHash);
    }

    /// <param name="database">Given each run of database bytes, in order (never the trailing hash).</param>
    /// <exception cref="InvalidDataException">The decompressing stream found its compression corrupt.</exception>
    public static async Task<Result> ReadAsync(Stream input, Func<ReadOnlyMemory<byte>, ValueTask> database, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(database);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        var carry = new byte[HashLength]; // the last 32 bytes seen: the hash, once the stream ends
        var carryLength = 0;
        long total = 0;
        int read;
        while ((read = await input.ReadAsync(buffer, cancellationToken)) > 0)
        {
            var available = carryLength + read;
            if (available <= HashLength)
            {
                buffer.AsSpan(0, read).CopyTo(carry.AsSpan(carryLength));
                carryLength = available;
                continue;
            }

            var emit = available - HashLength;
            var fromCarry = Math.Min(carryLength, emit);
            var fromBuffer = emit - fromCarry;
            sha.AppendData(carry.AsSpan(0, fromCarry));
            sha.AppendData(buffer.AsSpan(0, fromBuffer));
            await database(carry.AsMemory(0, fromCarry));
            await database(buffer.AsMemory(0, fromBuffer));
            var next = new byte[HashLength];
            carry.AsSpan(fromCarry, carryLength - fromCarry).CopyTo(next);
            buffer.AsSpan(fromBuffer, read - fromBuffer).CopyTo(next.AsSpan(carryLength - fromCarry));
            carry = next;
            carryLength = HashLength;
            total += emit;
        }

        return new Result(total, sha.GetHashAndReset(), carryLength == HashLength ? carry : []);
    }
}
