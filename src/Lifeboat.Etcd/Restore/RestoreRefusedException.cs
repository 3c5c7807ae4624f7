using Lifeboat.Core.Errors;

namespace Lifeboat.Etcd.Restore;

/// <summary>A restore that will not be done as asked: the data directory is not empty, a tool is missing, a flag contradicts another.</summary>
public sealed class RestoreRefusedException(string message, string? hint) : LifeboatException(message, hint, null)
{
    public override bool IsTransient => false;
}
