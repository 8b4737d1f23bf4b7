namespace Ambient.Agent.Identity;

/// <summary>
/// Where the agent gets workload certificates (ztunnel's <c>CA_ADDRESS</c>, <c>ROOT_CA</c>, <c>SECRET_TTL</c>,
/// <c>TRUST_DOMAIN</c>). No CA address and no CA socket: identities are disabled and the agent proxies plaintext only.
/// </summary>
public sealed record IdentityOptions
{
    /// <summary>ztunnel's <c>SECRET_TTL</c> default, which istiod's <c>DEFAULT_WORKLOAD_CERT_TTL</c> matches.</summary>
    public static readonly TimeSpan DefaultCertTtl = TimeSpan.FromHours(24);

    /// <summary>The name the control plane's serving certificate must carry, whatever address is dialled (istiod's).</summary>
    public const string CaHostname = "istiod.istio-system.svc";

    /// <summary>The CA's TLS gRPC address, <c>host:port</c> (<c>--ca-address</c>). Exclusive with <see cref="CaSocket"/>.</summary>
    public string? CaAddress { get; init; }

    /// <summary>The CA's TLS gRPC on a Unix socket (<c>--ca-socket</c>; the control plane's <c>--secure-socket</c>).</summary>
    public string? CaSocket { get; init; }

    /// <summary>PEM roots the CA's serving certificate and every issued chain must chain to (<c>--ca-root-cert</c>); watched.</summary>
    public string? CaRootCert { get; init; }

    /// <summary>The bearer token this node presents (<c>--ca-token-file</c>); read on every request, so rotation needs no restart.</summary>
    public string? CaTokenFile { get; init; }

    /// <summary>Requested validity of workload certificates (<c>--cert-ttl</c>); the CA may cap it.</summary>
    public TimeSpan CertTtl { get; init; } = DefaultCertTtl;

    /// <summary>Only identities in this trust domain are requested (<c>--trust-domain</c>): the CA signs no other.</summary>
    public string TrustDomain { get; init; } = "cluster.local";

    /// <summary>Fetches in flight at once; more wait in the priority queue.</summary>
    public int MaxConcurrentFetches { get; init; } = 4;

    /// <summary>ztunnel's retry backoff: 500 ms doubling up to 150 s (protocol facts §g).</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(150);

    /// <summary>Deadline of one CreateCertificate call.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The root file is also re-read this often: file watchers miss symlink swaps (Kubernetes ConfigMap volumes).</summary>
    public TimeSpan RootCertPollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether a CA is configured.</summary>
    public bool Enabled => CaAddress is not null || CaSocket is not null;

    /// <summary>Checks the combination; errors name the flag, the value and the rule.</summary>
    public void Validate()
    {
        if (CaAddress is not null && CaSocket is not null)
            throw new ArgumentException("--ca-address and --ca-socket are exclusive: give one");
        if (CaAddress is { } address)
            _ = ParseAddress(address);
        if (!Ambient.Identity.SpiffeId.IsTrustDomain(TrustDomain))
            throw new ArgumentException($"--trust-domain '{TrustDomain}' must be 1-255 of [a-z0-9._-]");
        if (CertTtl <= TimeSpan.Zero)
            throw new ArgumentException($"--cert-ttl ({CertTtl}) must be positive");
        if (!Enabled)
        {
            if (CaRootCert is not null || CaTokenFile is not null)
                throw new ArgumentException("--ca-root-cert and --ca-token-file need --ca-address or --ca-socket");
            return;
        }
        if (CaRootCert is null)
            throw new ArgumentException($"--ca-root-cert is required with {(CaSocket is null ? "--ca-address" : "--ca-socket")}: the CA's certificate is verified against it");
        if (!File.Exists(CaRootCert))
            throw new ArgumentException($"--ca-root-cert '{CaRootCert}' does not exist");
        if (CaTokenFile is null)
            throw new ArgumentException($"--ca-token-file is required with {(CaSocket is null ? "--ca-address" : "--ca-socket")}: the CA authenticates this node by it");
        if (!File.Exists(CaTokenFile))
            throw new ArgumentException($"--ca-token-file '{CaTokenFile}' does not exist");
        if (MaxConcurrentFetches < 1)
            throw new ArgumentException($"MaxConcurrentFetches ({MaxConcurrentFetches}) must be at least 1");
        if (InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff)
            throw new ArgumentException("backoff must satisfy 0 < InitialBackoff ≤ MaxBackoff");
    }

    /// <summary><c>host:port</c> or <c>[v6]:port</c>, host a name or an IP.</summary>
    public static (string Host, int Port) ParseAddress(string value)
    {
        var colon = value.LastIndexOf(':');
        if (colon > 0 && int.TryParse(value.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            && port is > 0 and <= 65535)
        {
            var host = value[..colon];
            if (host.StartsWith('[') && host.EndsWith(']'))
                host = host[1..^1];
            if (host.Length > 0 && !host.Contains('/') && Uri.CheckHostName(host) != UriHostNameType.Unknown)
                return (host, port);
        }
        throw new ArgumentException($"--ca-address '{value}' is not host:port (e.g. istiod.istio-system.svc:15012 or 127.0.0.1:15012)");
    }
}
