using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ambient.Identity.Tests;

/// <summary>Hand-built CSRs and certificates, including the bad ones a CA must refuse.</summary>
internal static class TestCerts
{
    public static string Csr(Action<SubjectAlternativeNameBuilder>? sans, AsymmetricAlgorithm? key = null, bool critical = true)
    {
        using var owned = key is null ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : null;
        var k = key ?? owned!;
        var request = k switch
        {
            ECDsa ec => new CertificateRequest("", ec, HashAlgorithmName.SHA256),
            RSA rsa => new CertificateRequest("", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            _ => throw new ArgumentException("key"),
        };
        if (sans is not null)
        {
            var b = new SubjectAlternativeNameBuilder();
            sans(b);
            request.CertificateExtensions.Add(b.Build(critical));
        }
        return request.CreateSigningRequestPem();
    }

    public static string UriCsr(string uri) => Csr(b => b.AddUri(new Uri(uri)));

    /// <summary>The same CSR with one bit of its signature flipped: still parses, no longer verifies.</summary>
    public static string Tamper(string pem)
    {
        var der = PemEncoding.Find(pem) is var f ? Convert.FromBase64String(pem[f.Base64Data]) : throw new ArgumentException(null, nameof(pem));
        der[^1] ^= 0x01;
        return PemEncoding.WriteString("CERTIFICATE REQUEST", der);
    }

    public static X509Certificate2 Root(string name = "O=test-root")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddYears(1));
    }

    public static X509Certificate2 Leaf(X509Certificate2 issuer, SpiffeId id, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(SubjectAltNames.ForUri(id, critical: true));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        using var signed = request.Create(issuer, DateTimeOffset.UtcNow.AddMinutes(-1), notAfter ?? DateTimeOffset.UtcNow.AddHours(1), [1, 2, 3, 4]);
        return signed.CopyWithPrivateKey(key);
    }
}
