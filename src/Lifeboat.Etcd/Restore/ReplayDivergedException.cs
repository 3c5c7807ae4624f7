using Lifeboat.Core.Errors;

namespace Lifeboat.Etcd.Restore;

/// <summary>Replay stopped because the restored etcd would no longer match the source revision for revision.</summary>
public sealed class ReplayDivergedException(string message) : LifeboatException(message,
    "the data directory was left untouched; check that the store's chain comes from this cluster, and report it if it does", null)
{
    public override bool IsTransient => false;
}
