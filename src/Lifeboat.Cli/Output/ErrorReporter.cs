using Grpc.Core;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Restore;
using Lifeboat.Etcd;
using Lifeboat.Etcd.Restore;

namespace Lifeboat.Cli.Output;

/// <summary>Turns any failure into one line on standard error (cause, then the fix) and its documented exit code.</summary>
internal static class ErrorReporter
{
    public static int Report(Exception exception, TextWriter error, bool verbose)
    {
        var (code, message, hint) = exception switch
        {
            OperationCanceledException => (ExitCodes.Interrupted, "interrupted; nothing partial was kept", null),
            EtcdException { StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded } e => (ExitCodes.EtcdUnavailable, e.Message, e.Hint),
            EtcdException e => (ExitCodes.EtcdError, e.Message, e.Hint),
            StoreException e => (ExitCodes.StoreError, e.Message, e.Hint),
            IntegrityException e => (ExitCodes.IntegrityError, e.Message, e.Hint),
            ReplayDivergedException e => (ExitCodes.IntegrityError, e.Message, e.Hint),
            RestorePlanException e => (ExitCodes.Refused, e.Message, e.Hint),
            RestoreRefusedException e => (ExitCodes.Refused, e.Message, e.Hint),
            Lifeboat.Etcd.Init.InitRefusedException e => (ExitCodes.Refused, e.Message, e.Hint),
            Hosting.EtcdSidecar.SharedStoreException e => (ExitCodes.Refused, e.Message, e.Hint),
            KeyUnavailableException e => (ExitCodes.Refused, e.Message, e.Hint),
            CodecUnavailableException e => (ExitCodes.Refused, e.Message, e.Hint),
            Lifeboat.Kubernetes.Volumes.VolumeRefusedException e => (ExitCodes.Refused, e.Message, e.Hint),
            Lifeboat.Kubernetes.Resources.ResourceRefusedException e => (ExitCodes.Refused, e.Message, e.Hint),
            Lifeboat.Kubernetes.Volumes.VolumeOperationFailedException e => (ExitCodes.VolumeFailed, e.Message, e.Hint),
            Lifeboat.Kubernetes.Client.KubeException e => (ExitCodes.KubernetesError, e.Message, e.Hint),
            Lifeboat.Kubernetes.Config.KubeConfigException e => (ExitCodes.Usage, e.Message, e.Hint ?? "check --kubeconfig, KUBECONFIG and --context"),
            LifeboatException e => (ExitCodes.InternalError, e.Message, e.Hint),
            ArgumentException e => (ExitCodes.Usage, e.Message, "see --help"),
            _ => (ExitCodes.InternalError, $"unexpected error: {exception.GetType().Name}: {exception.Message}",
                "this is a bug; run again with --verbose and report the output"),
        };

        var line = "error: " + OneLine(message);
        if (!string.IsNullOrEmpty(hint))
        {
            line += " — fix: " + OneLine(hint);
        }

        error.WriteLine(line);
        if (verbose)
        {
            error.WriteLine(exception.ToString());
        }

        return code;
    }

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).TrimEnd('.');
}
