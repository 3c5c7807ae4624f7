using System.Buffers.Binary;
using Google.Protobuf;

namespace Lifeboat.Etcd.Grpc;

/// <summary>
/// gRPC's length-prefixed message framing: one flag byte (0 = not compressed), a 4-byte big-endian length, then the
/// protobuf bytes.
/// </summary>
internal static class GrpcFraming
{
    public const int HeaderSize = 5;

    public static byte[] Frame(IMessage message)
    {
        var size = message.CalculateSize();
        var buffer = new byte[HeaderSize + size];
        buffer[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(1), (uint)size);
        message.WriteTo(buffer.AsSpan(HeaderSize));
        return buffer;
    }
}
