using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Lifeboat.Testing;

/// <summary>
/// A throwaway PKI in PEM files: a CA, a server certificate for 127.0.0.1/localhost, a client certificate signed by
/// the CA, and a second CA with its own client certificate (which etcd must reject).
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private readonly TempDirectory _dir = new("lifeboat-pki");

    public TestCertificates()
    {
        using var caKey = RSA.Create(2048);
        using var ca = CreateCa("Lifeboat Test CA", caKey);
        CaCertFile = WriteCert("ca.crt", ca);

        using var serverKey = RSA.Create(2048);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        using (var server = Issue(ca, caKey, "CN=etcd-server", serverKey, san.Build(), serverAuth: true))
        {
            ServerCertFile = WriteCert("server.crt", server);
        }

        ServerKeyFile = WriteKey("server.key", serverKey);

        using var clientKey = RSA.Create(2048);
        using (var client = Issue(ca, caKey, "CN=root", clientKey, null, serverAuth: false))
        {
            ClientCertFile = WriteCert("client.crt", client);
        }

        ClientKeyFile = WriteKey("client.key", clientKey);

        using var otherCaKey = RSA.Create(2048);
        using var otherCa = CreateCa("Some Other CA", otherCaKey);
        OtherCaCertFile = WriteCert("other-ca.crt", otherCa);
        using var strangerKey = RSA.Create(2048);
        using (var stranger = Issue(otherCa, otherCaKey, "CN=stranger", strangerKey, null, serverAuth: false))
        {
            StrangerCertFile = WriteCert("stranger.crt", stranger);
        }

        StrangerKeyFile = WriteKey("stranger.key", strangerKey);
    }

    public string CaCertFile { get; }
    public string ServerCertFile { get; }
    public string ServerKeyFile { get; }
    public string ClientCertFile { get; }
    public string ClientKeyFile { get; }

    /// <summary>A CA that did not sign the server's certificate.</summary>
    public string OtherCaCertFile { get; }

    /// <summary>A client certificate from <see cref="OtherCaCertFile"/>, which etcd does not trust.</summary>
    public string StrangerCertFile { get; }
    public string StrangerKeyFile { get; }

    public void Dispose() => _dir.Dispose();

    private static X509Certificate2 CreateCa(string name, RSA key)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, RSA caKey, string subject, RSA key, X509Extension? san, bool serverAuth)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        var usages = new OidCollection { new Oid("1.3.6.1.5.5.7.3.2") }; // client auth
        if (serverAuth)
        {
            usages.Add(new Oid("1.3.6.1.5.5.7.3.1"));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        if (san is not null)
        {
            request.CertificateExtensions.Add(san);
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        _ = caKey; // ca carries its key already (CreateSelfSigned)
        return request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), serial);
    }

    private string WriteCert(string name, X509Certificate2 cert)
    {
        var path = _dir.Combine(name);
        File.WriteAllText(path, cert.ExportCertificatePem());
        return path;
    }

    private string WriteKey(string name, RSA key)
    {
        var path = _dir.Combine(name);
        File.WriteAllText(path, key.ExportPkcs8PrivateKeyPem());
        return path;
    }
}
