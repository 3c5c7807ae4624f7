using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Lifeboat.Core.Net;

/// <summary>
/// Server certificate validation against the system's roots or, failing that, a set of CA certificates given by the
/// user (etcd's --cacert, a kubeconfig's certificate-authority). A name mismatch or a missing certificate is never
/// excused; only chain errors are re-checked against the given roots.
/// </summary>
public static class CustomRootTrust
{
    public static bool Validate(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection? trustedRoots)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (trustedRoots is null || certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trustedRoots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }
}
