using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ambient.Identity;

namespace Ambient.Hbone.Tests;

/// <summary>An in-process CA (ECDSA P-256) issuing SPIFFE workload certificates, like istiod would.</summary>
internal sealed class TestPki
{
    public static readonly TestPki Default = new("O=hbone-test-root");

    public TestPki(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        Root = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        Bundle = new TrustBundle([Root]);
    }

    public X509Certificate2 Root { get; }
    public TrustBundle Bundle { get; }

    public static SpiffeId Id(string sa, string ns = "x", string td = "cluster.local") => SpiffeId.Create(td, ns, sa);

    public WorkloadCertificate Issue(SpiffeId id) => Issue(id.ToString());

    public WorkloadCertificate Issue(string uri)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(uri));
        request.CertificateExtensions.Add(san.Build(critical: true));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        using var signed = request.Create(Root, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1), RandomNumberGenerator.GetBytes(8));
        var leaf = signed.CopyWithPrivateKey(key);
        // Round-trip through PKCS#12 so OpenSSL gets a key it can use for TLS on every platform.
        var pfx = X509CertificateLoader.LoadPkcs12(leaf.Export(X509ContentType.Pkcs12), null);
        return new WorkloadCertificate(SpiffeId.Parse(uri), pfx, []);
    }

    /// <summary>PEM files for python peers: (cert, key, ca).</summary>
    public (string Cert, string Key, string Ca) WritePem(WorkloadCertificate cert, string dir)
    {
        Directory.CreateDirectory(dir);
        var certPath = Path.Combine(dir, "cert.pem");
        var keyPath = Path.Combine(dir, "key.pem");
        var caPath = Path.Combine(dir, "ca.pem");
        File.WriteAllText(certPath, cert.Leaf.ExportCertificatePem());
        File.WriteAllText(keyPath, cert.Leaf.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(caPath, Root.ExportCertificatePem());
        return (certPath, keyPath, caPath);
    }
}
