using System.Security.Cryptography;
using Lifeboat.Etcd.Snapshots.Format;

namespace Lifeboat.Etcd.Snapshots;

/// <summary>
/// Reads a full snapshot: the bbolt database, Lifeboat's <see cref="IdentityBlock"/> (absent in files written before
/// it, and in what <c>etcdctl snapshot save</c> writes), then the SHA-256 of everything before it (32 bytes). The
/// database bytes go to a callback as they arrive; the block and the hash are held back and checked at the end.
/// Restore (which writes the bytes out) and verify (which scans them) share it.
/// </summary>
public static class FullSnapshotReader
{
    public const int HashLength = 32;
    private const int HeldBack = IdentityBlock.Size + HashLength;

    /// <summary>The outcome: how many database bytes there were, the identity if the file has one, and the hashes.</summary>
    /// <param name="Sha256">SHA-256 of everything before the trailing hash: the database, and the identity block when there is one.</param>
    /// <param name="TrailingHash">The 32 bytes the file ends with; for a sound file, equal to <paramref name="Sha256"/>.</param>
    public sealed record Result(long DatabaseBytes, byte[] Sha256, byte[] TrailingHash, FullSnapshotIdentity? Identity)
    {
        public bool HashMatches => DatabaseBytes > 0 && CryptographicOperations.FixedTimeEquals(Sha256, TrailingHash);
    }

    /// <param name="database">Given each run of database bytes, in order (never the identity block or the trailing hash).</param>
    /// <exception cref="InvalidDataException">The decompressing stream found its compression corrupt.</exception>
    public static async Task<Result> ReadAsync(Stream input, Func<ReadOnlyMemory<byte>, ValueTask> database, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(database);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        var carry = new byte[HeldBack]; // the last bytes seen: identity block and hash, once the stream ends
        var carryLength = 0;
        long total = 0;

        async ValueTask EmitAsync(ReadOnlyMemory<byte> bytes)
        {
            if (bytes.Length > 0)
            {
                sha.AppendData(bytes.Span);
                await database(bytes);
                total += bytes.Length;
            }
        }

        int read;
        while ((read = await input.ReadAsync(buffer, cancellationToken)) > 0)
        {
            var available = carryLength + read;
            if (available <= HeldBack)
            {
                buffer.AsSpan(0, read).CopyTo(carry.AsSpan(carryLength));
                carryLength = available;
                continue;
            }

            var emit = available - HeldBack;
            var fromCarry = Math.Min(carryLength, emit);
            var fromBuffer = emit - fromCarry;
            await EmitAsync(carry.AsMemory(0, fromCarry));
            await EmitAsync(buffer.AsMemory(0, fromBuffer));
            var next = new byte[HeldBack];
            carry.AsSpan(fromCarry, carryLength - fromCarry).CopyTo(next);
            buffer.AsSpan(fromBuffer, read - fromBuffer).CopyTo(next.AsSpan(carryLength - fromCarry));
            carry = next;
            carryLength = HeldBack;
        }

        if (carryLength < HashLength)
        {
            await EmitAsync(carry.AsMemory(0, carryLength));
            return new Result(total, sha.GetHashAndReset(), [], null);
        }

        var identity = carryLength == HeldBack ? IdentityBlock.TryRead(carry.AsSpan(0, IdentityBlock.Size)) : null;
        if (identity is null)
        {
            await EmitAsync(carry.AsMemory(0, carryLength - HashLength));
        }
        else
        {
            sha.AppendData(carry.AsSpan(0, IdentityBlock.Size));
        }

        return new Result(total, sha.GetHashAndReset(), carry.AsSpan(carryLength - HashLength, HashLength).ToArray(), identity);
    }
}
