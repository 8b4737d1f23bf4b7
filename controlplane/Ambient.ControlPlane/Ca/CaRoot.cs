using System.Security.Cryptography.X509Certificates;

namespace Ambient.ControlPlane.Ca;

/// <summary>The signing certificate (with its private key), the chain above it, and the root clients trust.</summary>
public sealed class CaRoot(X509Certificate2 signer, IReadOnlyList<X509Certificate2> chainAbove)
{
    public X509Certificate2 Signer { get; } = signer;

    /// <summary>Certificates from the signer's issuer up to the root; empty when the signer is the root.</summary>
    public IReadOnlyList<X509Certificate2> ChainAbove { get; } = chainAbove;

    public X509Certificate2 Root => ChainAbove.Count > 0 ? ChainAbove[^1] : Signer;
}
