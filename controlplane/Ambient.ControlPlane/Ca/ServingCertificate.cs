using System.Security.Cryptography.X509Certificates;

namespace Ambient.ControlPlane.Ca;

/// <summary>
/// The secure listener's TLS certificate, signed by our CA and re-issued once past half its life (the same rule
/// ztunnel applies to workload certificates), so a long-running control plane never serves an expired one.
/// </summary>
public sealed class ServingCertificate(CertificateAuthority ca, TimeProvider time)
{
    public static readonly TimeSpan Validity = TimeSpan.FromDays(90);

    private readonly Lock _lock = new();
    private X509Certificate2? _current;
    private DateTimeOffset _renewAt;

    public X509Certificate2 Current
    {
        get
        {
            lock (_lock)
            {
                var now = time.GetUtcNow();
                if (_current is null || now >= _renewAt)
                {
                    // The previous certificate is not disposed: handshakes in flight may still hold it.
                    _current = ca.IssueServing(Validity);
                    var notBefore = new DateTimeOffset(_current.NotBefore.ToUniversalTime());
                    var notAfter = new DateTimeOffset(_current.NotAfter.ToUniversalTime());
                    _renewAt = notBefore + (notAfter - notBefore) / 2;
                }
                return _current;
            }
        }
    }
}
