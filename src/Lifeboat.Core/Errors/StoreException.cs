namespace Lifeboat.Core.Errors;

/// <summary>Why a store operation failed, so that callers can decide without parsing messages.</summary>
public enum StoreErrorKind
{
    /// <summary>The store cannot be reached or answered with a server-side error that may pass.</summary>
    Unavailable,

    /// <summary>The credentials or file permissions do not allow the operation.</summary>
    AccessDenied,

    /// <summary>The store has no space left.</summary>
    Full,

    /// <summary>The object does not exist.</summary>
    NotFound,

    /// <summary>An object already exists under the key and overwriting was not asked for.</summary>
    AlreadyExists,

    /// <summary>The store location itself is malformed or unsupported.</summary>
    InvalidLocation,

    /// <summary>The store refused the request as invalid (not a matter of credentials or availability).</summary>
    Rejected,
}

/// <summary>A snapshot store operation failed.</summary>
public sealed class StoreException : LifeboatException
{
    public StoreException(StoreErrorKind kind, string message, string? hint = null, Exception? innerException = null)
        : base(message, hint, innerException)
    {
        Kind = kind;
    }

    public StoreErrorKind Kind { get; }

    public override bool IsTransient => Kind == StoreErrorKind.Unavailable;
}
