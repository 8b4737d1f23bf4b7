using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ambient.Identity;

/// <summary>
/// A certificate signing request as ztunnel sends it to the Istio CA: a fresh ECDSA P-256 key, SHA-256 signature, an
/// empty subject and exactly one URI SAN (the SPIFFE id), PEM PKCS#10. The private key stays with the caller.
/// </summary>
public sealed class WorkloadCsr : IDisposable
{
    private WorkloadCsr(SpiffeId identity, string pem, ECDsa key)
    {
        Identity = identity;
        Pem = pem;
        Key = key;
    }

    public SpiffeId Identity { get; }

    /// <summary>"-----BEGIN CERTIFICATE REQUEST-----" PEM.</summary>
    public string Pem { get; }

    public ECDsa Key { get; }

    public static WorkloadCsr Create(SpiffeId identity)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var request = new CertificateRequest(new X500DistinguishedName(""), key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(SubjectAltNames.ForUri(identity, critical: true));
            return new WorkloadCsr(identity, request.CreateSigningRequestPem(), key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Pairs a signed leaf (from the CA's chain) with this request's private key.</summary>
    public X509Certificate2 WithKey(X509Certificate2 leaf) => leaf.CopyWithPrivateKey(Key);

    public void Dispose() => Key.Dispose();
}
