using Lifeboat.Core.Storage;

namespace Lifeboat.Core.Tests.Storage;

public sealed class StoreKeyTests
{
    [Theory]
    [InlineData("etcd/full-1.db", true)]
    [InlineData("a", true)]
    [InlineData("resources/backup_1.tar.gz", true)]
    [InlineData("", false)]
    [InlineData(".tmp/x.part", false)]
    [InlineData("a/../b", false)]
    [InlineData("a/", false)]
    [InlineData("a\\b", false)]
    [InlineData("ümlaut", false)]
    public void IsValid_FollowsTheSharedRules(string key, bool valid) => Assert.Equal(valid, StoreKey.IsValid(key));
}
