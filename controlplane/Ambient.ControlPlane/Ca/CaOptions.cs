using System.Net;

namespace Ambient.ControlPlane.Ca;

/// <summary>
/// The control plane's CA and its TLS listener (istiod's 15012: CA and xDS over TLS). Validated by
/// <see cref="CaRootStore"/> and the command line before the host starts.
/// </summary>
public sealed record CaOptions
{
    public const string DefaultCaDir = "/var/lib/ambient/ca";

    /// <summary>Istio's default for <c>DEFAULT_WORKLOAD_CERT_TTL</c> (and ztunnel's <c>SECRET_TTL</c>).</summary>
    public static readonly TimeSpan DefaultWorkloadTtl = TimeSpan.FromHours(24);

    /// <summary>Istio's default for <c>MAX_WORKLOAD_CERT_TTL</c>.</summary>
    public static readonly TimeSpan DefaultMaxWorkloadTtl = TimeSpan.FromDays(90);

    /// <summary>
    /// TLS gRPC address serving the CA and ADS (<c>--secure-address</c>); null disables the listener and the CA.
    /// </summary>
    public IPEndPoint? SecureAddress { get; init; } = new(IPAddress.Loopback, 15012);

    /// <summary>
    /// The same TLS gRPC (CA and ADS, same serving certificate) on a Unix socket (<c>--secure-socket</c>), for node
    /// agents in other network namespaces, which cannot reach a loopback address. Clients use <c>localhost</c> as the
    /// HTTP/2 authority and still verify <see cref="IstiodHostname"/>.
    /// </summary>
    public string? SecureSocket { get; init; }

    /// <summary>Whether the CA runs: a TLS listener is configured (address, socket or both).</summary>
    public bool ServesTls => SecureAddress is not null || SecureSocket is not null;

    /// <summary>
    /// Where a generated root lives (<c>ca-cert.pem</c>, <c>ca-key.pem</c> 0600) and where <c>root-cert.pem</c> is
    /// published for clients. Generated once: a restart reuses it, so the trust root never changes.
    /// </summary>
    public string CaDir { get; init; } = DefaultCaDir;

    /// <summary>A signing certificate (PEM; further certificates in the file are its chain up to the root) — with <see cref="CaKeyPath"/>, used instead of a generated root.</summary>
    public string? CaCertPath { get; init; }

    public string? CaKeyPath { get; init; }

    public TimeSpan DefaultTtl { get; init; } = DefaultWorkloadTtl;

    /// <summary>Longer requests are capped to this.</summary>
    public TimeSpan MaxTtl { get; init; } = DefaultMaxWorkloadTtl;

    /// <summary>DNS names of the serving certificate; clients verify <c>istiod.istio-system.svc</c> as ztunnel does.</summary>
    public IReadOnlyList<string> ServingDnsNames { get; init; } = [IstiodHostname];

    public const string IstiodHostname = "istiod.istio-system.svc";

    /// <summary>
    /// Local mode: one file per node, named after the node, holding that node's bearer token (<c>--node-credentials-dir</c>).
    /// Null: no node credentials are accepted.
    /// </summary>
    public string? NodeCredentialsDir { get; init; }

    /// <summary>Kubernetes mode: service accounts (<c>namespace/name</c>) whose pods may request identities of pods on their node.</summary>
    public IReadOnlyList<string> TrustedNodeAccounts { get; init; } = ["istio-system/ztunnel"];

    /// <summary>Audience a Kubernetes token must carry (ztunnel's projected token uses <c>istio-ca</c>).</summary>
    public string TokenAudience { get; init; } = "istio-ca";

    public string RootCertPath => Path.Combine(CaDir, "root-cert.pem");

    /// <summary>Errors name the flag, the value and the rule.</summary>
    public void Validate()
    {
        if ((CaCertPath is null) != (CaKeyPath is null))
            throw new ArgumentException("--ca-cert and --ca-key go together: give both or neither");
        if (DefaultTtl <= TimeSpan.Zero)
            throw new ArgumentException($"--ca-default-ttl ({DefaultTtl}) must be positive");
        if (MaxTtl < DefaultTtl)
            throw new ArgumentException($"--ca-max-ttl ({MaxTtl}) must be ≥ --ca-default-ttl ({DefaultTtl})");
        if (string.IsNullOrWhiteSpace(CaDir))
            throw new ArgumentException("--ca-dir must not be empty");
        foreach (var name in ServingDnsNames)
        {
            if (Uri.CheckHostName(name) != UriHostNameType.Dns)
                throw new ArgumentException($"--secure-dns-name '{name}' is not a DNS name");
        }
    }
}
