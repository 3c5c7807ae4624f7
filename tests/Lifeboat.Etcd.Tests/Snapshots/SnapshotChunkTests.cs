using Google.Protobuf;
using Lifeboat.Core.Errors;
using Lifeboat.Etcd.Protocol;
using Lifeboat.Etcd.Snapshots;

namespace Lifeboat.Etcd.Tests.Snapshots;

/// <summary>The hand decoder against protobuf's own encoding of the same messages.</summary>
public sealed class SnapshotChunkTests
{
    [Theory]
    [InlineData(0UL, 0)]
    [InlineData(1UL, 1)]
    [InlineData(123_456_789_012UL, 32 * 1024)]
    [InlineData(ulong.MaxValue, 300)]
    public void Decode_OfProtobufEncoding_GivesTheSameFields(ulong remaining, int blobLength)
    {
        var blob = new byte[blobLength];
        Random.Shared.NextBytes(blob);
        var message = new SnapshotResponse
        {
            Header = new ResponseHeader { ClusterId = 7, MemberId = 9, Revision = 1234, RaftTerm = 3 },
            RemainingBytes = remaining,
            Blob = ByteString.CopyFrom(blob),
        };

        var chunk = SnapshotChunk.Decode(message.ToByteArray());

        Assert.Equal(remaining, chunk.RemainingBytes);
        Assert.Equal(blob, chunk.Blob.ToArray());
    }

    [Fact]
    public void Decode_Truncated_ThrowsIntegrity()
    {
        var bytes = new SnapshotResponse { RemainingBytes = 5, Blob = ByteString.CopyFrom(new byte[100]) }.ToByteArray();
        Assert.Throws<IntegrityException>(() => SnapshotChunk.Decode(bytes.AsMemory(0, bytes.Length - 1)));
        Assert.Throws<IntegrityException>(() => SnapshotChunk.Decode(new byte[] { 0x10, 0x80 }));
        Assert.Throws<IntegrityException>(() => SnapshotChunk.Decode(new byte[] { 0x1F }));
    }
}
