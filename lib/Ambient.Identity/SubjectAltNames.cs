using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ambient.Identity;

/// <summary>
/// Reads the subjectAltName extension (RFC 5280 §4.2.1.6). .NET enumerates DNS names and IPs only; workload identities
/// are URI SANs, so we read GeneralNames ourselves and also count every other name, which the CA must refuse.
/// </summary>
public static class SubjectAltNames
{
    public const string ExtensionOid = "2.5.29.17";

    // GeneralName ::= CHOICE { ... dNSName [2] IA5String, ... uniformResourceIdentifier [6] IA5String, ... }
    private static readonly Asn1Tag UriTag = new(TagClass.ContextSpecific, 6);

    /// <summary>The names in a SAN extension: URIs, and how many names of other kinds there are.</summary>
    public readonly record struct Names(IReadOnlyList<string> Uris, int OtherCount)
    {
        public int Count => Uris.Count + OtherCount;
    }

    /// <summary>Decodes the extension value; false when it is not DER GeneralNames.</summary>
    public static bool TryRead(ReadOnlyMemory<byte> extensionValue, out Names names)
    {
        names = default;
        var uris = new List<string>();
        var other = 0;
        try
        {
            var reader = new AsnReader(extensionValue, AsnEncodingRules.DER);
            var seq = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            while (seq.HasData)
            {
                var tag = seq.PeekTag();
                if (tag.HasSameClassAndValue(UriTag))
                    uris.Add(seq.ReadCharacterString(UniversalTagNumber.IA5String, UriTag));
                else
                {
                    seq.ReadEncodedValue();
                    other++;
                }
            }
        }
        catch (AsnContentException)
        {
            return false;
        }
        names = new Names(uris, other);
        return true;
    }

    /// <summary>The SAN extension of a certificate or CSR extension list; null when absent.</summary>
    public static X509Extension? Find(IEnumerable<X509Extension> extensions) =>
        extensions.FirstOrDefault(e => e.Oid?.Value == ExtensionOid);

    /// <summary>The URI SANs of a certificate (empty when it has none or the extension is malformed).</summary>
    public static IReadOnlyList<string> GetUris(X509Certificate2 certificate) =>
        Find(certificate.Extensions.Cast<X509Extension>()) is { } ext && TryRead(ext.RawData, out var names) ? names.Uris : [];

    /// <summary>The SPIFFE ids among a certificate's URI SANs.</summary>
    public static IReadOnlyList<SpiffeId> GetSpiffeIds(X509Certificate2 certificate)
    {
        var ids = new List<SpiffeId>();
        foreach (var uri in GetUris(certificate))
        {
            if (SpiffeId.TryParse(uri, out var id))
                ids.Add(id);
        }
        return ids;
    }

    /// <summary>A SAN extension holding exactly one URI (critical when the subject is empty, RFC 5280 §4.2.1.6).</summary>
    public static X509Extension ForUri(SpiffeId id, bool critical)
    {
        var b = new SubjectAlternativeNameBuilder();
        b.AddUri(id.ToUri());
        var ext = b.Build(critical);
        ThrowIfMismatch(ext, id);
        return ext;
    }

    internal static void ThrowIfMismatch(X509Extension built, SpiffeId id)
    {
        if (!TryRead(built.RawData, out var names) || names.Uris.Count != 1 || names.Uris[0] != id.ToString())
            throw new CryptographicException($"the URI SAN of {id} did not round-trip");
    }
}
