using Lifeboat.Etcd.Restore;
using Xunit;

namespace Lifeboat.Testing;

/// <summary>Base of tests that each need their own real etcd and a temporary directory.</summary>
public abstract class EtcdTest : IAsyncLifetime
{
    private EtcdServer? _etcd;

    protected TempDirectory Dir { get; } = new();

    protected EtcdServer Etcd => _etcd ?? throw new InvalidOperationException("etcd is not started");

    public virtual async Task InitializeAsync() => _etcd = await EtcdServer.StartAsync();

    public virtual async Task DisposeAsync()
    {
        if (_etcd is not null)
        {
            await _etcd.DisposeAsync();
        }

        Dir.Dispose();
    }

    /// <summary>Member flags that <see cref="EtcdServer"/> can start on after a restore: its member name, a loopback peer URL.</summary>
    public static MemberFlags LoopbackMember()
    {
        var peer = $"http://127.0.0.1:{LoopbackPorts.Next()}";
        return new MemberFlags { Name = "lifeboat-test", InitialCluster = $"lifeboat-test={peer}", InitialAdvertisePeerUrls = peer, InitialClusterToken = "restored" };
    }
}
