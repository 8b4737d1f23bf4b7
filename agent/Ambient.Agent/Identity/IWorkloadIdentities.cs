using Ambient.Identity;

namespace Ambient.Agent.Identity;

/// <summary>
/// Workload certificates for the data path (HBONE TLS): what an outbound connection presents as its source workload
/// and an inbound listener as its destination, and the roots peers are verified against. Registered by
/// <c>AddWorkloadIdentities</c>; the implementation is <see cref="WorkloadCertificateManager"/> when a CA is configured.
/// </summary>
public interface IWorkloadIdentities
{
    /// <summary>
    /// The cached certificate of <paramref name="id"/> while it is valid (even past its renewal point: renewal runs in
    /// the background). Otherwise fetches now at <see cref="FetchPriority.RealTime"/>; concurrent callers for one
    /// identity share one fetch. Throws <see cref="IdentityUnavailableException"/> (naming the identity and what the CA
    /// said) when the fetch fails and nothing valid is cached.
    /// </summary>
    ValueTask<WorkloadCertificate> GetAsync(SpiffeId id, CancellationToken ct);

    /// <summary>The cached certificate of <paramref name="id"/> if it is still valid; never fetches.</summary>
    bool TryGetCached(SpiffeId id, out WorkloadCertificate cert);

    /// <summary>The current roots (from <c>--ca-root-cert</c>, swapped live when the file changes). Throws when <see cref="Enabled"/> is false.</summary>
    TrustBundle TrustBundle { get; }

    /// <summary>False when no CA is configured: the agent proxies plaintext only (it warns loudly at start).</summary>
    bool Enabled { get; }
}
