using System.Runtime.InteropServices;

namespace Lifeboat.Core.Codecs;

/// <summary>
/// The few functions of zstd's streaming API that Lifeboat uses, bound to the system's <c>libzstd.so.1</c>
/// (Debian's libzstd1, which dpkg itself depends on). Nothing here is exposed: see <see cref="ZstdEncoderStream"/>
/// and <see cref="ZstdDecoderStream"/>.
/// </summary>
internal static partial class ZstdNative
{
    internal const string Library = "libzstd.so.1";

    // ZSTD_cParameter and ZSTD_EndDirective values from zstd.h (stable API since 1.4.0).
    internal const int CompressionLevel = 100;
    internal const int ChecksumFlag = 201;
    internal const int NbWorkers = 400;
    internal const int EndContinue = 0;
    internal const int EndFrame = 2;

    private static readonly Lazy<string?> LoadError = new(() =>
    {
        try
        {
            return ZSTD_versionNumber() >= 10400 ? null : $"{Library} is older than 1.4.0";
        }
        catch (DllNotFoundException)
        {
            return $"{Library} is not installed";
        }
        catch (EntryPointNotFoundException)
        {
            return $"{Library} lacks the streaming API";
        }
    });

    /// <summary>Why zstd cannot be used here, or null when it can.</summary>
    internal static string? Unavailable => LoadError.Value;

    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct InBuffer
    {
        public byte* Source;
        public nuint Size;
        public nuint Position;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct OutBuffer
    {
        public byte* Destination;
        public nuint Size;
        public nuint Position;
    }

    [LibraryImport(Library)]
    internal static partial uint ZSTD_versionNumber();

    [LibraryImport(Library)]
    internal static partial CompressionContext ZSTD_createCCtx();

    [LibraryImport(Library)]
    internal static partial nuint ZSTD_freeCCtx(nint context);

    [LibraryImport(Library)]
    internal static partial nuint ZSTD_CCtx_setParameter(CompressionContext context, int parameter, int value);

    [LibraryImport(Library)]
    internal static unsafe partial nuint ZSTD_compressStream2(CompressionContext context, OutBuffer* output, InBuffer* input, int endOp);

    [LibraryImport(Library)]
    internal static partial DecompressionContext ZSTD_createDCtx();

    [LibraryImport(Library)]
    internal static partial nuint ZSTD_freeDCtx(nint context);

    [LibraryImport(Library)]
    internal static unsafe partial nuint ZSTD_decompressStream(DecompressionContext context, OutBuffer* output, InBuffer* input);

    [LibraryImport(Library)]
    internal static partial uint ZSTD_isError(nuint code);

    [LibraryImport(Library)]
    private static partial nint ZSTD_getErrorName(nuint code);

    /// <summary>Returns <paramref name="code"/> unless it is one of zstd's error codes, which become an <see cref="InvalidDataException"/>.</summary>
    internal static nuint Check(nuint code, string operation) =>
        ZSTD_isError(code) == 0 ? code : throw new InvalidDataException($"zstd {operation}: {Marshal.PtrToStringAnsi(ZSTD_getErrorName(code))}");

    internal sealed class CompressionContext : SafeHandle
    {
        public CompressionContext()
            : base(0, ownsHandle: true)
        {
        }

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle() => ZSTD_isError(ZSTD_freeCCtx(handle)) == 0;
    }

    internal sealed class DecompressionContext : SafeHandle
    {
        public DecompressionContext()
            : base(0, ownsHandle: true)
        {
        }

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle() => ZSTD_isError(ZSTD_freeDCtx(handle)) == 0;
    }
}
