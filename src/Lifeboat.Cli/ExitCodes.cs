namespace Lifeboat.Cli;

/// <summary>The exit codes of <c>lifeboat</c>; documented in docs/exit-codes.md and in <c>lifeboat --help</c>.</summary>
public static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>An unexpected internal error (a bug): run again with --verbose and report the stack trace.</summary>
    public const int InternalError = 1;

    /// <summary>The command line or configuration is wrong: an unknown flag, a missing value, an invalid endpoint.</summary>
    public const int Usage = 2;

    /// <summary>etcd could not be reached: connection refused, DNS, TLS or HTTP/2 handshake failure, a broken stream.</summary>
    public const int EtcdUnavailable = 3;

    /// <summary>etcd answered with an error: permission denied, request too large, compacted revision, no leader.</summary>
    public const int EtcdError = 4;

    /// <summary>The snapshot store failed: not writable, full, missing object, unsupported location.</summary>
    public const int StoreError = 5;

    /// <summary>Data failed verification: hash mismatch, truncated stream, unreadable database.</summary>
    public const int IntegrityError = 6;

    /// <summary>
    /// The request was refused and nothing was changed: a non-empty data directory without --force, a restore target
    /// the store cannot reach (no full snapshot, a gap, out of range), a tool restore needs is missing, an encrypted
    /// snapshot whose key was not given.
    /// </summary>
    public const int Refused = 7;

    /// <summary>
    /// The Kubernetes API could not be reached or refused a request: connection or TLS failure, 401 credentials not
    /// accepted, 403 RBAC (the message names the verb and resource), a conflict or an invalid object.
    /// </summary>
    public const int KubernetesError = 8;

    /// <summary>
    /// A volume snapshot or restore was started and did not complete: the CSI driver failed it, it was not cut or ready
    /// in time, a restored claim did not bind. The message says what state was left.
    /// </summary>
    public const int VolumeFailed = 9;

    /// <summary>
    /// A resource backup or restore finished but not everything in it: a backup is stored and marked PartiallyFailed
    /// (it names what it could not read), a restore left some objects unrestored (each is named with the API's reason).
    /// </summary>
    public const int PartiallyFailed = 10;

    /// <summary>Interrupted (SIGINT/SIGTERM) before finishing; nothing partial was kept.</summary>
    public const int Interrupted = 130;

    public const string HelpText =
        "Exit codes: 0 success, 1 internal error, 2 usage, 3 etcd unreachable, 4 etcd error, 5 store error, 6 integrity error, 7 refused (nothing changed), 8 Kubernetes API error, 9 volume snapshot or restore failed, 10 resource backup or restore partially failed, 130 interrupted.";
}
