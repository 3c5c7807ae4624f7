using Lifeboat.Core.Errors;

namespace Lifeboat.Kubernetes.Volumes;

/// <summary>A volume operation was refused before it changed anything (a claim not Bound, no snapshot class, a name taken).</summary>
public sealed class VolumeRefusedException(string message, string? hint)
    : LifeboatException(message, hint, null)
{
    public override bool IsTransient => false;

    /// <summary>The claim is not Bound yet: a schedule skips it (a warning), on demand it is a refusal.</summary>
    public bool ClaimNotBound { get; init; }
}

/// <summary>A snapshot or restore was started and did not complete: the driver failed it, or it was not cut, ready or bound in time.</summary>
public sealed class VolumeOperationFailedException(string message, string? hint)
    : LifeboatException(message, hint, null)
{
    public override bool IsTransient => false;
}

/// <summary>Where volume commands say what they do, step by step.</summary>
public interface IStepLog
{
    void Info(string message);

    void Warn(string message);
}
