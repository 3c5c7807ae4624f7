using Lifeboat.Core.Errors;

namespace Lifeboat.Core.Restore;

/// <summary>The store cannot serve the restore asked for: no full snapshot, a gap, a target out of range.</summary>
public sealed class RestorePlanException(string message, string? hint) : LifeboatException(message, hint, null)
{
    public override bool IsTransient => false;
}
