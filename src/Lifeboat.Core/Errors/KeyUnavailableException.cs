namespace Lifeboat.Core.Errors;

/// <summary>
/// An encrypted object cannot be read because none of the keys given is the one it was written with, or no key was
/// given at all. Raised before any of its bytes are used, so nothing has been changed.
/// </summary>
public sealed class KeyUnavailableException(string message, string? hint = null) : LifeboatException(message, hint, null)
{
    public override bool IsTransient => false;
}
