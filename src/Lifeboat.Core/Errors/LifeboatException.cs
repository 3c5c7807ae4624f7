namespace Lifeboat.Core.Errors;

/// <summary>
/// Base of every failure Lifeboat reports to a user: a one-line <see cref="Exception.Message"/> saying what went wrong,
/// a <see cref="Hint"/> saying how to fix it, and whether trying again can help.
/// </summary>
public abstract class LifeboatException : Exception
{
    protected LifeboatException(string message, string? hint, Exception? innerException)
        : base(message, innerException)
    {
        Hint = hint;
    }

    /// <summary>What the user can do about it, one sentence; null when there is nothing useful to say.</summary>
    public string? Hint { get; }

    /// <summary>True when the same operation may succeed if retried unchanged (a network blip, a leader election).</summary>
    public abstract bool IsTransient { get; }
}
