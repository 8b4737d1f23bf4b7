using Ambient.Identity;

namespace Ambient.Agent.Identity;

/// <summary>Gets one certificate of one identity from the CA (a fresh key each time). The manager's seam for tests.</summary>
public interface ICaClient
{
    /// <summary>
    /// Generates a key, sends its CSR and returns the signed certificate with the key, checked against
    /// <paramref name="trust"/>. Throws <see cref="CaFetchException"/> on any failure.
    /// </summary>
    Task<WorkloadCertificate> FetchAsync(SpiffeId id, TrustBundle trust, CancellationToken ct);

    /// <summary>The roots changed: connections verified against the old ones are dropped.</summary>
    void OnTrustChanged();
}
