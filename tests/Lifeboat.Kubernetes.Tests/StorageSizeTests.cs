using k8s.Models;
using Lifeboat.Kubernetes.Volumes;

namespace Lifeboat.Kubernetes.Tests;

/// <summary>Sizes as users type them (--size), read by KubernetesClient's ResourceQuantity and counted in bytes.</summary>
public sealed class StorageSizeTests
{
    [Theory]
    [InlineData("10Gi", 10L * 1024 * 1024 * 1024)]
    [InlineData("1.5Gi", 1610612736L)]
    [InlineData("500M", 500_000_000L)]
    [InlineData("1e9", 1_000_000_000L)]
    [InlineData("2E3", 2000L)]
    [InlineData("1k", 1000L)]
    [InlineData("1Ki", 1024L)]
    [InlineData("1500m", 2L)] // 1.5 rounds up to whole bytes
    [InlineData(" 123 ", 123L)]
    [InlineData("1Ti", 1099511627776L)]
    public void TryParse_ReadsEverySuffixKind(string text, long bytes)
    {
        Assert.True(StorageSize.TryParse(text, out var quantity));
        Assert.Equal(bytes, quantity.Bytes());
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("Gi")]
    [InlineData("10GB")]
    [InlineData("ten")]
    [InlineData("1.5.5Gi")]
    public void TryParse_RefusesWhatIsNotAQuantity(string? text) => Assert.False(StorageSize.TryParse(text, out _));

    [Theory]
    [InlineData(10L * 1024 * 1024 * 1024, "10Gi")]
    [InlineData(1536L * 1024 * 1024, "1536Mi")]
    public void FromBytes_IsTheExactBinaryForm(long bytes, string text)
    {
        Assert.Equal(text, StorageSize.FromBytes(bytes).ToString());
        Assert.Equal(bytes, new ResourceQuantity(text).Bytes());
    }

    [Fact]
    public void Comparison_IsByValueWhateverTheUnit() => Assert.True(new ResourceQuantity("1G").ToDecimal() < new ResourceQuantity("1Gi").ToDecimal());
}
