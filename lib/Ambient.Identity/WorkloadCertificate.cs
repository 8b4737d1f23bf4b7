using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Ambient.Identity;

/// <summary>
/// One workload identity ready to present in TLS: the leaf (with its private key, which never left this process),
/// the intermediates the CA returned (the root excluded: peers have it) and a prebuilt
/// <see cref="SslStreamCertificateContext"/> so handshakes do not rebuild the chain each time.
/// Immutable; a renewal produces a new instance and the old one stays usable by connections that hold it.
/// </summary>
public sealed class WorkloadCertificate
{
    public WorkloadCertificate(SpiffeId identity, X509Certificate2 leafWithKey, X509Certificate2Collection intermediates)
    {
        if (!leafWithKey.HasPrivateKey)
            throw new ArgumentException("the leaf must carry its private key", nameof(leafWithKey));
        var sans = SubjectAltNames.GetSpiffeIds(leafWithKey);
        if (!sans.Contains(identity))
            throw new ArgumentException($"the leaf names {string.Join(", ", sans)}, not {identity}", nameof(leafWithKey));
        Identity = identity;
        Leaf = leafWithKey;
        Intermediates = intermediates;
        NotBefore = new DateTimeOffset(leafWithKey.NotBefore.ToUniversalTime());
        NotAfter = new DateTimeOffset(leafWithKey.NotAfter.ToUniversalTime());
        Context = SslStreamCertificateContext.Create(leafWithKey, intermediates, offline: true);
    }

    public SpiffeId Identity { get; }

    public X509Certificate2 Leaf { get; }

    public X509Certificate2Collection Intermediates { get; }

    public DateTimeOffset NotBefore { get; }

    public DateTimeOffset NotAfter { get; }

    /// <summary>What TLS presents: the leaf and its intermediates.</summary>
    public SslStreamCertificateContext Context { get; }

    /// <summary>Istio's rotation point: half-way through the validity period (protocol facts §g).</summary>
    public DateTimeOffset RenewAt => NotBefore + (NotAfter - NotBefore) / 2;

    public bool IsExpired(DateTimeOffset now) => now >= NotAfter;
}
