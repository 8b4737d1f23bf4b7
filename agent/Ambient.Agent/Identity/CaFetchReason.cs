namespace Ambient.Agent.Identity;

/// <summary>
/// Why a certificate fetch failed: the <c>reason</c> label of <c>ambient_agent_certificate_fetches_total</c> and
/// <see cref="IdentityUnavailableException.Reason"/>.
/// </summary>
public static class CaFetchReason
{
    /// <summary>The CA refused our credentials (Unauthenticated): the token file is wrong or revoked.</summary>
    public const string Unauthenticated = "unauthenticated";

    /// <summary>The CA refused this identity (PermissionDenied): no pod of the account runs on this node in its view.</summary>
    public const string PermissionDenied = "permission_denied";

    /// <summary>The CA rejected the request (InvalidArgument), e.g. a trust domain it does not sign.</summary>
    public const string Rejected = "rejected";

    /// <summary>The CA could not be reached, timed out, or failed (Unavailable, DeadlineExceeded, Internal…).</summary>
    public const string Unavailable = "unavailable";

    /// <summary>The TLS handshake failed: the CA's certificate does not chain to <c>--ca-root-cert</c> or does not name the CA.</summary>
    public const string UntrustedCa = "untrusted_ca";

    /// <summary>The CA answered with a chain we cannot use: unparsable, another identity, another key, or not chaining to our roots.</summary>
    public const string InvalidResponse = "invalid_response";

    /// <summary>The token file could not be read.</summary>
    public const string Token = "token";

    /// <summary>The identity is outside <c>--trust-domain</c>; no request was made.</summary>
    public const string ForeignTrustDomain = "foreign_trust_domain";

    /// <summary>No CA is configured.</summary>
    public const string Disabled = "disabled";
}
