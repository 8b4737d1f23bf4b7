using System.Diagnostics.CodeAnalysis;

namespace Ambient.Identity;

/// <summary>
/// A workload identity in Istio's only accepted shape, <c>spiffe://&lt;trust domain&gt;/ns/&lt;namespace&gt;/sa/&lt;service account&gt;</c>.
/// Parsing is as strict as Istio's <c>spiffe.ParseIdentity</c> (exactly five path parts, literal <c>ns</c> and <c>sa</c>)
/// and stricter on characters: the trust domain uses the SPIFFE charset (lowercase letters, digits, <c>.-_</c>), and the
/// namespace and account are Kubernetes names (lowercase letters, digits, <c>-.</c>), so no two spellings of one id exist
/// and nothing needs escaping in a URI SAN.
/// </summary>
public readonly record struct SpiffeId
{
    public const string Scheme = "spiffe://";

    // SPIFFE ID spec §2.1: trust domain ≤ 255 bytes; Kubernetes names are ≤ 253 (namespaces ≤ 63).
    private const int MaxTrustDomain = 255;
    private const int MaxName = 253;

    private SpiffeId(string trustDomain, string ns, string serviceAccount)
    {
        TrustDomain = trustDomain;
        Namespace = ns;
        ServiceAccount = serviceAccount;
    }

    public string TrustDomain { get; }
    public string Namespace { get; }
    public string ServiceAccount { get; }

    /// <summary>Builds an id from its parts; throws <see cref="ArgumentException"/> naming the bad part.</summary>
    public static SpiffeId Create(string trustDomain, string ns, string serviceAccount)
    {
        if (!IsTrustDomain(trustDomain))
            throw new ArgumentException($"trust domain '{trustDomain}' must be 1-{MaxTrustDomain} of [a-z0-9._-]", nameof(trustDomain));
        if (!IsKubernetesName(ns))
            throw new ArgumentException($"namespace '{ns}' must be 1-{MaxName} of [a-z0-9.-]", nameof(ns));
        if (!IsKubernetesName(serviceAccount))
            throw new ArgumentException($"service account '{serviceAccount}' must be 1-{MaxName} of [a-z0-9.-]", nameof(serviceAccount));
        return new SpiffeId(trustDomain, ns, serviceAccount);
    }

    public static SpiffeId Parse(string value) =>
        TryParse(value, out var id) ? id : throw new FormatException($"'{value}' is not spiffe://<trust domain>/ns/<namespace>/sa/<service account>");

    public static bool TryParse([NotNullWhen(true)] string? value, out SpiffeId id)
    {
        id = default;
        if (value is null || !value.StartsWith(Scheme, StringComparison.Ordinal))
            return false;
        var rest = value.AsSpan(Scheme.Length);
        Span<Range> parts = stackalloc Range[6];
        if (rest.Split(parts, '/') != 5)
            return false;
        var td = rest[parts[0]];
        var ns = rest[parts[2]];
        var sa = rest[parts[4]];
        if (!rest[parts[1]].SequenceEqual("ns") || !rest[parts[3]].SequenceEqual("sa")
            || !IsTrustDomain(td) || !IsKubernetesName(ns) || !IsKubernetesName(sa))
            return false;
        id = new SpiffeId(td.ToString(), ns.ToString(), sa.ToString());
        return true;
    }

    public bool IsDefault => TrustDomain is null;

    public override string ToString() => IsDefault ? "" : $"{Scheme}{TrustDomain}/ns/{Namespace}/sa/{ServiceAccount}";

    public Uri ToUri() => new(ToString(), UriKind.Absolute);

    public static bool IsTrustDomain(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty || s.Length > MaxTrustDomain)
            return false;
        foreach (var c in s)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_'))
                return false;
        }
        return true;
    }

    public static bool IsKubernetesName(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty || s.Length > MaxName || s is "." or "..")
            return false;
        foreach (var c in s)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-'))
                return false;
        }
        return true;
    }
}
