using System.Diagnostics;
using Lifeboat.Core.Codecs;
using Lifeboat.Core.Snapshots;
using Lifeboat.Testing;

namespace Lifeboat.Core.Tests.Codecs;

/// <summary>Every codec round-trips, interoperates with the standard tool, and refuses cut or altered input.</summary>
public sealed class SnapshotCodecTests
{
    public static TheoryData<Compression, int> Sizes()
    {
        var data = new TheoryData<Compression, int>();
        foreach (var compression in Enum.GetValues<Compression>())
        {
            foreach (var size in new[] { 0, 1, 65_537, 5_000_000 })
            {
                data.Add(compression, size);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task Compressed_RoundTripsExactly_InSmallAndLargeWrites(Compression compression, int size)
    {
        var original = Sample(size, seed: size);
        var stored = await CompressAsync(original, compression, writeSize: 7_001);

        Assert.Equal(original, await DecompressAsync(stored, compression));
        Assert.Equal(original, DecompressSync(stored, compression));
    }

    [Theory]
    [InlineData(Compression.Gzip, "gzip")]
    [InlineData(Compression.Zstd, "zstd")]
    public async Task Compressed_IsReadByTheStandardTool_AndTheToolsOutputIsRead(Compression compression, string tool)
    {
        using var dir = new TempDirectory();
        var original = Sample(3_000_000, seed: 7);
        await File.WriteAllBytesAsync(dir.Combine("ours"), await CompressAsync(original, compression, writeSize: 65_536));
        await File.WriteAllBytesAsync(dir.Combine("plain"), original);

        Assert.Equal(original, await RunAsync(tool, "-d", "-c", dir.Combine("ours")));
        var theirs = await RunAsync(tool, "-c", dir.Combine("plain"));
        Assert.Equal(original, await DecompressAsync(theirs, compression));
    }

    [Theory]
    [InlineData(Compression.Gzip)]
    [InlineData(Compression.Zstd)]
    public async Task CutShort_AtAnyPoint_IsInvalidData(Compression compression)
    {
        var stored = await CompressAsync(Sample(300_000, seed: 3), compression, writeSize: 65_536);
        foreach (var length in new[] { 0, 5, stored.Length / 2, stored.Length - 1 })
        {
            await Assert.ThrowsAsync<InvalidDataException>(() => DecompressAsync(stored[..length], compression));
        }
    }

    [Theory]
    [InlineData(Compression.Gzip)]
    [InlineData(Compression.Zstd)]
    public async Task AlteredByte_IsInvalidData(Compression compression)
    {
        var stored = await CompressAsync(Sample(300_000, seed: 4), compression, writeSize: 65_536);
        stored[stored.Length / 2] ^= 0x20;

        await Assert.ThrowsAsync<InvalidDataException>(() => DecompressAsync(stored, compression));
    }

    [Theory]
    [InlineData(Compression.Gzip)]
    [InlineData(Compression.Zstd)]
    public async Task ConcatenatedStreams_ReadAsOne(Compression compression)
    {
        var first = Sample(100_000, seed: 5);
        var second = Sample(200_000, seed: 6);
        var stored = (await CompressAsync(first, compression, 65_536)).Concat(await CompressAsync(second, compression, 65_536)).ToArray();

        Assert.Equal(first.Concat(second), await DecompressAsync(stored, compression));
    }

    [Fact]
    public async Task ZstdFlush_MakesEverythingWrittenSoFarReadable()
    {
        var original = Sample(200_000, seed: 8);
        using var buffer = new MemoryStream();
        await using var zstd = SnapshotCodec.Compressing(buffer, Compression.Zstd);
        await zstd.WriteAsync(original);
        await zstd.FlushAsync();

        using var partial = new MemoryStream(buffer.ToArray());
        await using var reader = SnapshotCodec.Decompressing(partial, Compression.Zstd);
        var read = new byte[original.Length];
        await reader.ReadExactlyAsync(read);
        Assert.Equal(original, read);
    }

    [Fact]
    public async Task NotZstdAtAll_IsInvalidData()
    {
        var notZstd = await CompressAsync(Sample(10_000, seed: 9), Compression.Gzip, 65_536);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => DecompressAsync(notZstd, Compression.Zstd));
        Assert.Contains("zstd", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Zstd_IsAvailableHere() => Assert.Null(SnapshotCodec.Unavailable(Compression.Zstd));

    /// <summary>Half repetitive text, half random bytes: compresses, but not to nothing.</summary>
    private static byte[] Sample(int size, int seed)
    {
        var bytes = new byte[size];
        var random = new Random(seed);
        for (var i = 0; i < size; i += 512)
        {
            var block = bytes.AsSpan(i, Math.Min(512, size - i));
            if ((i / 512) % 2 == 0)
            {
                random.NextBytes(block);
            }
            else
            {
                block.Fill((byte)('a' + (i / 512 % 26)));
            }
        }

        return bytes;
    }

    private static async Task<byte[]> CompressAsync(byte[] data, Compression compression, int writeSize)
    {
        using var buffer = new MemoryStream();
        await using (var sink = SnapshotCodec.Compressing(buffer, compression))
        {
            for (var offset = 0; offset < data.Length; offset += writeSize)
            {
                await sink.WriteAsync(data.AsMemory(offset, Math.Min(writeSize, data.Length - offset)));
            }
        }

        Assert.True(buffer.CanWrite, "the destination stays open");
        return buffer.ToArray();
    }

    private static async Task<byte[]> DecompressAsync(byte[] stored, Compression compression)
    {
        await using var source = SnapshotCodec.Decompressing(new MemoryStream(stored), compression);
        using var result = new MemoryStream();
        await source.CopyToAsync(result, 10_000);
        return result.ToArray();
    }

    private static byte[] DecompressSync(byte[] stored, Compression compression)
    {
        using var source = SnapshotCodec.Decompressing(new MemoryStream(stored), compression);
        using var result = new MemoryStream();
        source.CopyTo(result, 3_333);
        return result.ToArray();
    }

    private static async Task<byte[]> RunAsync(string tool, params string[] args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        using var output = new MemoryStream();
        var errors = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.BaseStream.CopyToAsync(output);
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{tool} {string.Join(' ', args)} failed: {await errors}");
        return output.ToArray();
    }
}
