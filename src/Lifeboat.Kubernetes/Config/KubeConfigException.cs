using Lifeboat.Core.Errors;

namespace Lifeboat.Kubernetes.Config;

/// <summary>No usable way to reach the cluster: a kubeconfig that does not parse, a missing context, a failed credential plugin.</summary>
public sealed class KubeConfigException(string message, string? hint = null, Exception? inner = null) : LifeboatException(message, hint, inner)
{
    public override bool IsTransient => false;
}
