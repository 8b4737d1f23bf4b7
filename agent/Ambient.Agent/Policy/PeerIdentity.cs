using System.Collections.Concurrent;
using Ambient.Identity;

namespace Ambient.Agent.Policy;

/// <summary>
/// The authenticated identity of a connection's source (from its mTLS peer certificate): trust domain, namespace,
/// service account, and the principal in Istio's policy form <c>&lt;td&gt;/ns/&lt;ns&gt;/sa/&lt;sa&gt;</c> (no <c>spiffe://</c>),
/// built once here so evaluating policies allocates nothing. Make one per peer certificate (or cache it by identity).
/// </summary>
public sealed class PeerIdentity : IEquatable<PeerIdentity>
{
    public const string Scheme = "spiffe://";
    private const int CacheLimit = 4096;
    private static readonly ConcurrentDictionary<SpiffeId, PeerIdentity> Cache = new();

    public PeerIdentity(string trustDomain, string ns, string serviceAccount)
    {
        ArgumentException.ThrowIfNullOrEmpty(trustDomain);
        ArgumentException.ThrowIfNullOrEmpty(ns);
        ArgumentException.ThrowIfNullOrEmpty(serviceAccount);
        TrustDomain = trustDomain;
        Namespace = ns;
        ServiceAccount = serviceAccount;
        Principal = $"{trustDomain}/ns/{ns}/sa/{serviceAccount}";
    }

    public string TrustDomain { get; }
    public string Namespace { get; }
    public string ServiceAccount { get; }

    /// <summary><c>&lt;td&gt;/ns/&lt;ns&gt;/sa/&lt;sa&gt;</c>: what AuthorizationPolicy <c>principals</c> are matched against.</summary>
    public string Principal { get; }

    /// <summary>The SPIFFE URI, <c>spiffe://&lt;td&gt;/ns/&lt;ns&gt;/sa/&lt;sa&gt;</c>.</summary>
    public string Uri => Scheme + Principal;

    /// <summary>
    /// Parses <c>spiffe://&lt;td&gt;/ns/&lt;ns&gt;/sa/&lt;sa&gt;</c> (Istio's only identity shape: exactly these five path
    /// parts). Character rules are the certificate validator's job; this only splits.
    /// </summary>
    public static bool TryParse(string? uri, out PeerIdentity? identity)
    {
        identity = null;
        if (uri is null || !uri.StartsWith(Scheme, StringComparison.Ordinal))
            return false;
        var rest = uri.AsSpan(Scheme.Length);
        Span<Range> parts = stackalloc Range[6];
        if (rest.Split(parts, '/') != 5)
            return false;
        if (!rest[parts[1]].SequenceEqual("ns") || !rest[parts[3]].SequenceEqual("sa"))
            return false;
        var td = rest[parts[0]];
        var ns = rest[parts[2]];
        var sa = rest[parts[4]];
        if (td.IsEmpty || ns.IsEmpty || sa.IsEmpty)
            return false;
        identity = new PeerIdentity(td.ToString(), ns.ToString(), sa.ToString());
        return true;
    }

    /// <summary>
    /// The identity of a verified peer certificate. Cached per id (a mesh has few service accounts), so a connection
    /// from a known peer allocates nothing here.
    /// </summary>
    public static PeerIdentity From(SpiffeId id)
    {
        if (id.IsDefault)
            throw new ArgumentException("a default SpiffeId is no identity", nameof(id));
        if (Cache.TryGetValue(id, out var cached))
            return cached;
        if (Cache.Count >= CacheLimit)
            Cache.Clear();
        return Cache.GetOrAdd(id, static i => new PeerIdentity(i.TrustDomain, i.Namespace, i.ServiceAccount));
    }

    /// <summary>Null for plaintext (no peer identity).</summary>
    public static PeerIdentity? From(SpiffeId? id) => id is { IsDefault: false } v ? From(v) : null;

    public static PeerIdentity Parse(string uri) =>
        TryParse(uri, out var id) ? id! : throw new FormatException($"'{uri}' is not spiffe://<trust domain>/ns/<namespace>/sa/<service account>");

    public bool Equals(PeerIdentity? other) => other is not null && string.Equals(Principal, other.Principal, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is PeerIdentity p && Equals(p);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Principal);

    public override string ToString() => Uri;
}
