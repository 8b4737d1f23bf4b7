using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Ambient.Identity;

/// <summary>
/// PEM certificate lists as the Istio CA API carries them: each <c>cert_chain</c> element may hold several
/// concatenated PEM certificates (protocol facts §g).
/// </summary>
public static class PemCertificates
{
    /// <summary>Every CERTIFICATE block in <paramref name="pem"/>, in order; throws on a malformed block.</summary>
    public static X509Certificate2Collection Read(string pem)
    {
        var result = new X509Certificate2Collection();
        var rest = pem.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            if (rest[fields.Label].SequenceEqual("CERTIFICATE"))
            {
                var der = Convert.FromBase64String(rest[fields.Base64Data].ToString());
                result.Add(X509CertificateLoader.LoadCertificate(der));
            }
            rest = rest[fields.Location.End..];
        }
        return result;
    }

    /// <summary>Reads every certificate of every element of a chain (leaf first, as the CA returns it).</summary>
    public static X509Certificate2Collection Read(IEnumerable<string> chain)
    {
        var result = new X509Certificate2Collection();
        foreach (var element in chain)
            result.AddRange(Read(element));
        return result;
    }

    public static string Write(X509Certificate2 certificate) => certificate.ExportCertificatePem() + "\n";

    public static string Write(IEnumerable<X509Certificate2> certificates)
    {
        var sb = new StringBuilder();
        foreach (var c in certificates)
            sb.Append(Write(c));
        return sb.ToString();
    }
}
