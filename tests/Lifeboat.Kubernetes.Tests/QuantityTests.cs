using Lifeboat.Kubernetes.Models;

namespace Lifeboat.Kubernetes.Tests;

public sealed class QuantityTests
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
    [InlineData("123", 123L)]
    [InlineData("1Ti", 1099511627776L)]
    public void Parse_ReadsEverySuffixKind(string text, long bytes) => Assert.Equal(bytes, Quantity.Parse(text).Bytes);

    [Theory]
    [InlineData("")]
    [InlineData("Gi")]
    [InlineData("10GB")]
    [InlineData("ten")]
    [InlineData("1.5.5Gi")]
    public void Parse_RejectsWhatIsNotAQuantity(string text)
    {
        Assert.False(Quantity.TryParse(text, out _));
        var error = Assert.Throws<FormatException>(() => Quantity.Parse(text));
        Assert.Contains("10Gi", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(10L * 1024 * 1024 * 1024, "10Gi")]
    [InlineData(1536L * 1024 * 1024, "1536Mi")]
    [InlineData(1000L, "1000")]
    public void ToString_IsTheExactBinaryForm(long bytes, string text)
    {
        Assert.Equal(text, Quantity.FromBytes(bytes).ToString());
        Assert.Equal(bytes, Quantity.Parse(text).Bytes);
    }

    [Fact]
    public void Comparison_IsByValueWhateverTheUnit() => Assert.True(Quantity.Parse("1G").Value < Quantity.Parse("1Gi").Value);
}
