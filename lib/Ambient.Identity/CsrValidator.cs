using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ambient.Identity;

/// <summary>
/// Checks a workload CSR before a CA signs it: PEM PKCS#10 that parses, a valid self-signature (proof the caller holds
/// the key), an ECDSA P-256 or RSA ≥ 2048 key, and a SAN extension holding exactly one name — a URI that parses as a
/// SPIFFE id in our trust domain. Pure; the CA decides separately whether the caller may have that identity.
/// </summary>
public static class CsrValidator
{
    /// <summary>A P-256 CSR with one SAN is well under 1 KiB; refuse anything absurd before parsing it.</summary>
    public const int MaxPemLength = 16 * 1024;

    public const int MinRsaBits = 2048;

    private const string EcPublicKeyOid = "1.2.840.10045.2.1";
    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string NistP256Oid = "1.2.840.10045.3.1.7";

    public static CsrValidation Validate(string? pem, string trustDomain)
    {
        if (string.IsNullOrWhiteSpace(pem))
            return CsrValidation.Fail(CsrError.Malformed, "the CSR is empty");
        if (pem.Length > MaxPemLength)
            return CsrValidation.Fail(CsrError.Malformed, $"the CSR is {pem.Length} characters, more than {MaxPemLength}");

        CertificateRequest request;
        try
        {
            // Extensions are requested attributes; "unsafe" only means .NET copies them, the decision is ours below.
            request = CertificateRequest.LoadSigningRequestPem(pem, HashAlgorithmName.SHA256,
                CertificateRequestLoadOptions.SkipSignatureValidation | CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return CsrValidation.Fail(CsrError.Malformed, $"the CSR is not PEM PKCS#10: {e.Message}");
        }
        try
        {
            CertificateRequest.LoadSigningRequestPem(pem, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
        }
        catch (CryptographicException)
        {
            return CsrValidation.Fail(CsrError.BadSignature, "the CSR's signature does not verify with its public key");
        }

        if (KeyError(request.PublicKey) is { } keyError)
            return CsrValidation.Fail(CsrError.UnsupportedKey, keyError);

        var sans = request.CertificateExtensions.Where(e => e.Oid?.Value == SubjectAltNames.ExtensionOid).ToList();
        if (sans.Count != 1)
            return CsrValidation.Fail(CsrError.SanCount, $"the CSR has {sans.Count} subjectAltName extensions, expected exactly one");
        if (!SubjectAltNames.TryRead(sans[0].RawData, out var names))
            return CsrValidation.Fail(CsrError.Malformed, "the CSR's subjectAltName extension is not valid DER");
        if (names.Count != 1 || names.Uris.Count != 1)
            return CsrValidation.Fail(CsrError.SanCount, $"the CSR has {names.Uris.Count} URI and {names.OtherCount} other SANs, expected exactly one URI");
        var uri = names.Uris[0];
        if (!SpiffeId.TryParse(uri, out var id))
            return CsrValidation.Fail(CsrError.NotSpiffe, $"the CSR's URI SAN '{Truncate(uri)}' is not spiffe://<trust domain>/ns/<namespace>/sa/<service account>");
        if (id.TrustDomain != trustDomain)
            return CsrValidation.Fail(CsrError.WrongTrustDomain, $"the CSR's identity {id} is not in trust domain '{trustDomain}'");
        return new CsrValidation(CsrError.None, "", request, id);
    }

    private static string? KeyError(PublicKey key)
    {
        switch (key.Oid.Value)
        {
            case EcPublicKeyOid:
                using (var ec = key.GetECDsaPublicKey())
                {
                    var curve = ec?.ExportParameters(false).Curve.Oid;
                    return curve?.Value == NistP256Oid || curve?.FriendlyName is "nistP256" or "ECDSA_P256"
                        ? null
                        : $"the CSR's ECDSA key is on curve {curve?.Value ?? curve?.FriendlyName ?? "?"}, only P-256 is accepted";
                }
            case RsaOid:
                using (var rsa = key.GetRSAPublicKey())
                {
                    var bits = rsa?.KeySize ?? 0;
                    return bits >= MinRsaBits ? null : $"the CSR's RSA key has {bits} bits, at least {MinRsaBits} are required";
                }
            default:
                return $"the CSR's key algorithm {key.Oid.Value} is not ECDSA P-256 or RSA";
        }
    }

    private static string Truncate(string s) => s.Length <= 128 ? s : s[..128] + "…";
}
