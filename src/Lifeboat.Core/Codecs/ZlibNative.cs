using System.Runtime.InteropServices;

namespace Lifeboat.Core.Codecs;

/// <summary>
/// zlib's inflate, bound to the system's <c>libz.so.1</c> (zlib1g, which every Debian has). Used only to read gzip,
/// because it checks each member's CRC-32 and length and reports where a member ends, which .NET's GZipStream does not.
/// </summary>
internal static unsafe partial class ZlibNative
{
    internal const string Library = "libz.so.1";

    internal const int Ok = 0;
    internal const int StreamEnd = 1;
    internal const int BufError = -5;

    // Window bits 15 plus 16: gzip framing only, with its trailer checked.
    internal const int GzipWindowBits = 15 + 16;
    private const int NoFlush = 0;

    /// <summary>zlib's <c>z_stream</c> on LP64 (uLong is 64 bits). It must not move while zlib holds it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct ZStream
    {
        public byte* NextIn;
        public uint AvailIn;
        public nuint TotalIn;
        public byte* NextOut;
        public uint AvailOut;
        public nuint TotalOut;
        public sbyte* Message;
        public nint State;
        public nint Alloc;
        public nint Free;
        public nint Opaque;
        public int DataType;
        public nuint Adler;
        public nuint Reserved;
    }

    [LibraryImport(Library)]
    internal static partial sbyte* zlibVersion();

    [LibraryImport(Library)]
    private static partial int inflateInit2_(ZStream* stream, int windowBits, sbyte* version, int streamSize);

    [LibraryImport(Library)]
    private static partial int inflate(ZStream* stream, int flush);

    [LibraryImport(Library)]
    internal static partial int inflateReset(ZStream* stream);

    [LibraryImport(Library)]
    internal static partial int inflateEnd(ZStream* stream);

    /// <summary>A zeroed <c>z_stream</c> in native memory, initialised for gzip.</summary>
    internal static ZStream* CreateGzipInflater()
    {
        var stream = (ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZStream));
        var result = inflateInit2_(stream, GzipWindowBits, zlibVersion(), sizeof(ZStream));
        if (result != Ok)
        {
            NativeMemory.Free(stream);
            throw new InvalidOperationException($"zlib inflateInit2 failed ({result})");
        }

        return stream;
    }

    internal static void DestroyInflater(ZStream* stream)
    {
        _ = inflateEnd(stream);
        NativeMemory.Free(stream);
    }

    /// <summary>One inflate call; zlib's data errors become <see cref="InvalidDataException"/>.</summary>
    internal static int Inflate(ZStream* stream)
    {
        var result = inflate(stream, NoFlush);
        return result is Ok or StreamEnd or BufError
            ? result
            : throw new InvalidDataException($"gzip: {(stream->Message is null ? $"zlib error {result}" : new string(stream->Message))}");
    }
}
