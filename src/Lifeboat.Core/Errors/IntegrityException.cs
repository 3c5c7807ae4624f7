namespace Lifeboat.Core.Errors;

/// <summary>Data failed a check: a hash mismatch, a truncated stream, a file that does not parse.</summary>
public sealed class IntegrityException : LifeboatException
{
    public IntegrityException(string message, string? hint = null, Exception? innerException = null)
        : base(message, hint, innerException)
    {
    }

    /// <summary>Corrupt data stays corrupt; taking the snapshot again may help, re-reading it will not.</summary>
    public override bool IsTransient => false;
}
