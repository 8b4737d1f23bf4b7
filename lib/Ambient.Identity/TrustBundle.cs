using System.Security.Cryptography.X509Certificates;

namespace Ambient.Identity;

/// <summary>
/// A set of trusted roots, and chain validation against exactly those roots (X509Chain custom root trust: the
/// machine store plays no part). Revocation is not checked here (CRLs are a separate, fail-open concern, §g).
/// </summary>
public sealed class TrustBundle
{
    public TrustBundle(X509Certificate2Collection roots)
    {
        if (roots.Count == 0)
            throw new ArgumentException("a trust bundle needs at least one root", nameof(roots));
        Roots = roots;
    }

    public X509Certificate2Collection Roots { get; }

    public static TrustBundle FromPem(string pem) => new(PemCertificates.Read(pem));

    /// <summary>
    /// Whether <paramref name="leaf"/> chains to one of <see cref="Roots"/> through <paramref name="intermediates"/>,
    /// valid at <paramref name="at"/> (default now). On failure <paramref name="error"/> lists the chain statuses.
    /// </summary>
    public bool Validate(X509Certificate2 leaf, IEnumerable<X509Certificate2>? intermediates, out string error, DateTimeOffset? at = null)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = (at ?? DateTimeOffset.UtcNow).UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        foreach (var c in intermediates ?? [])
        {
            if (!c.Equals(leaf))
                chain.ChainPolicy.ExtraStore.Add(c);
        }
        try
        {
            if (chain.Build(leaf))
            {
                error = "";
                return true;
            }
            var statuses = chain.ChainElements.SelectMany(e => e.ChainElementStatus).Concat(chain.ChainStatus)
                .Select(s => s.Status.ToString()).Distinct();
            error = string.Join(", ", statuses);
            if (error.Length == 0)
                error = "the chain does not end at a trusted root";
            return false;
        }
        finally
        {
            foreach (var e in chain.ChainElements)
            {
                if (!ReferenceEquals(e.Certificate, leaf))
                    e.Certificate.Dispose();
            }
        }
    }

    /// <summary>
    /// Validates a TLS server's certificate for a client: it chains to our roots and names <paramref name="dnsName"/>
    /// (the control plane's serving certificate carries <c>istiod.istio-system.svc</c> whatever address was dialled).
    /// </summary>
    public bool ValidateServer(X509Certificate2 certificate, IEnumerable<X509Certificate2>? presentedChain, string dnsName, out string error)
    {
        if (!Validate(certificate, presentedChain, out error))
            return false;
        if (!certificate.MatchesHostname(dnsName, allowWildcards: false, allowCommonName: false))
        {
            error = $"the server certificate does not name {dnsName}";
            return false;
        }
        return true;
    }
}
