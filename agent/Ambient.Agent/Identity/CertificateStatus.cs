namespace Ambient.Agent.Identity;

/// <summary>One identity the agent holds or is fetching, as <c>/certs</c> shows it.</summary>
/// <param name="State">
/// <c>valid</c>; <c>renewing</c> (valid, a new one is being fetched); <c>fetching</c> (none yet); <c>backoff</c>
/// (the last fetch failed, <paramref name="NextAttempt"/> retries); <c>expired</c>.
/// </param>
/// <param name="Local">A workload of this identity runs on this node (HBONE), so the certificate is prefetched and renewed.</param>
public sealed record CertificateStatus(
    string Identity,
    string State,
    bool Local,
    DateTimeOffset? NotBefore,
    DateTimeOffset? NotAfter,
    DateTimeOffset? RenewAt,
    DateTimeOffset? NextAttempt,
    string? Serial,
    string? LastError);
