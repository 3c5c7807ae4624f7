namespace Lifeboat.Core.Errors;

/// <summary>A compression the command needs (to write, or to read a stored snapshot) cannot be used on this machine.</summary>
public sealed class CodecUnavailableException(string message, string? hint = null) : LifeboatException(message, hint, null)
{
    public override bool IsTransient => false;
}
