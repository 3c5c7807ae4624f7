using System.Buffers;
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

    /// <summary>
    /// Reads one message; null when the stream ends cleanly between messages.
    /// </summary>
    /// <exception cref="EtcdException">The stream ends inside a message, a message is compressed, or it exceeds <paramref name="maxMessageBytes"/>.</exception>
    public static async ValueTask<T?> ReadAsync<T>(Stream stream, MessageParser<T> parser, int maxMessageBytes, string endpoint,
        CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        var header = ArrayPool<byte>.Shared.Rent(HeaderSize);
        try
        {
            var read = await stream.ReadAtLeastAsync(header.AsMemory(0, HeaderSize), HeaderSize, throwOnEndOfStream: false, cancellationToken);
            if (read == 0)
            {
                return null;
            }

            if (read < HeaderSize)
            {
                throw Truncated(endpoint);
            }

            if (header[0] != 0)
            {
                throw new EtcdException(GrpcStatusCode.Internal, $"{endpoint} sent a compressed gRPC message, which was not negotiated",
                    null, endpoint);
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1));
            if (length > (uint)maxMessageBytes)
            {
                throw new EtcdException(GrpcStatusCode.ResourceExhausted,
                    $"{endpoint} sent a {length}-byte message, above the receive limit of {maxMessageBytes} bytes",
                    "raise the receive limit (--max-recv-bytes) or ask for less per request (a smaller range or limit)", endpoint);
            }

            var body = ArrayPool<byte>.Shared.Rent((int)length);
            try
            {
                read = await stream.ReadAtLeastAsync(body.AsMemory(0, (int)length), (int)length, throwOnEndOfStream: false, cancellationToken);
                if (read < length)
                {
                    throw Truncated(endpoint);
                }

                return parser.ParseFrom(body.AsSpan(0, (int)length));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(header);
        }
    }

    private static EtcdException Truncated(string endpoint) =>
        new(GrpcStatusCode.Unavailable, $"the stream from {endpoint} ended in the middle of a message", "etcd may have stopped; try again", endpoint);
}
