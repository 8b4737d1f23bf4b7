using Ambient.ControlPlane.Model;
using Ambient.Xds.Protos.Security;
using Google.Protobuf;

namespace Ambient.ControlPlane.Discovery;

/// <summary>
/// AuthorizationPolicy → <c>istio.security.Authorization</c> for node agents (L4 only), as istiod does it:
/// a rule becomes a Group; its <c>from</c> entries one clause (ORed matches), its <c>to</c> entries another,
/// each <c>when</c> condition its own clause; clauses are ANDed.
/// Fields only a waypoint can check are never silently dropped: an ALLOW rule that needs them can never
/// match (safe), a DENY rule is enforced without them (stricter), and both cases are reported.
/// As in istiod, an entry or condition left with nothing L4 becomes an empty match, which ztunnel skips
/// (never matches): a DENY rule made only of HTTP attributes therefore has no effect, and the warning says so.
/// </summary>
internal static class AuthorizationBuilder
{
    public static string ResourceName(AuthorizationPolicyObject p) => $"{p.Meta.Namespace}/{p.Meta.Name}";

    /// <summary>Returns null when the policy is not for node agents (targetRefs bind to waypoints; AUDIT/CUSTOM are not L4).</summary>
    public static Authorization? Build(MeshOptions mesh, AuthorizationPolicyObject p, List<string> warnings)
    {
        if (!p.TargetRefs.IsDefaultOrEmpty)
            return null;
        if (p.Action is AuthorizationAction.Audit or AuthorizationAction.Custom)
        {
            warnings.Add($"AuthorizationPolicy {p.Meta.Namespace}/{p.Meta.Name}: action {p.Action.ToString().ToUpperInvariant()} is not enforced by node agents");
            return null;
        }
        var a = new Authorization
        {
            Name = p.Meta.Name,
            Namespace = p.Meta.Namespace,
            Action = p.Action == AuthorizationAction.Deny ? Ambient.Xds.Protos.Security.Action.Deny : Ambient.Xds.Protos.Security.Action.Allow,
            DryRun = p.DryRun,
            Scope = p.Selector is { Count: > 0 } ? Scope.WorkloadSelector
                : p.Meta.Namespace == mesh.RootNamespace ? Scope.Global
                : Scope.Namespace,
        };
        var isAllow = p.Action == AuthorizationAction.Allow;
        for (var i = 0; i < p.Rules.Length; i++)
        {
            var rule = p.Rules[i];
            var l7 = L7FieldsOf(rule);
            if (l7.Count > 0 && isAllow)
            {
                warnings.Add($"AuthorizationPolicy {p.Meta.Namespace}/{p.Meta.Name} rules[{i}]: {string.Join(", ", l7)} need a waypoint; "
                    + "the node agent treats this ALLOW rule as never matching");
                continue;
            }
            var group = Group(rule, p.Meta.Namespace);
            if (l7.Count > 0)
            {
                // Say what really happens: a clause whose every match is empty never matches (istiod's
                // hasEffectiveRules), so such a DENY rule does nothing at the node agent.
                warnings.Add($"AuthorizationPolicy {p.Meta.Namespace}/{p.Meta.Name} rules[{i}]: {string.Join(", ", l7)} need a waypoint; "
                    + (CanMatch(group)
                        ? "the node agent enforces this DENY rule without them"
                        : "without them this DENY rule has nothing the node agent can match, so it has no effect there"));
            }
            a.Groups.Add(group);
        }
        return a;
    }

    private static List<string> L7FieldsOf(AuthorizationRule rule)
    {
        var fields = new List<string>();
        foreach (var f in rule.From)
            fields.AddRange(f.L7Fields.Select(x => "from.source." + x));
        foreach (var t in rule.To)
            fields.AddRange(t.L7Fields.Select(x => "to.operation." + x));
        foreach (var w in rule.When)
        {
            if (!IsL4Condition(w.Key))
                fields.Add("when." + w.Key);
        }
        return fields;
    }

    private static bool IsL4Condition(string key) =>
        key is "source.ip" or "source.namespace" or "source.principal" or "destination.ip" or "destination.port";

    private static bool CanMatch(Group g) =>
        g.Rules.All(clause => clause.Matches.Any(m => !m.Equals(new Match())));

    private static Group Group(AuthorizationRule rule, string policyNamespace)
    {
        var g = new Group();
        if (rule.From.Length > 0)
        {
            var clause = new Rules();
            foreach (var f in rule.From)
                clause.Matches.Add(SourceMatch(f, policyNamespace));
            g.Rules.Add(clause);
        }
        if (rule.To.Length > 0)
        {
            var clause = new Rules();
            foreach (var t in rule.To)
            {
                var m = new Match();
                m.DestinationPorts.AddRange(t.Ports.Select(x => (uint)x));
                m.NotDestinationPorts.AddRange(t.NotPorts.Select(x => (uint)x));
                clause.Matches.Add(m);
            }
            g.Rules.Add(clause);
        }
        foreach (var w in rule.When)
        {
            // A condition only a waypoint can check stays as an empty match (never matches), as istiod sends it;
            // skipping it instead made a DENY rule match far more than written (only DENY rules get here).
            var m = new Match();
            switch (w.Key)
            {
                case "source.ip":
                    m.SourceIps.AddRange(w.Values.Select(Cidr));
                    m.NotSourceIps.AddRange(w.NotValues.Select(Cidr));
                    break;
                case "source.namespace":
                    m.Namespaces.AddRange(w.Values.Select(StringMatchOf));
                    m.NotNamespaces.AddRange(w.NotValues.Select(StringMatchOf));
                    break;
                case "source.principal":
                    m.Principals.AddRange(w.Values.Select(Principal));
                    m.NotPrincipals.AddRange(w.NotValues.Select(Principal));
                    break;
                case "destination.ip":
                    m.DestinationIps.AddRange(w.Values.Select(Cidr));
                    m.NotDestinationIps.AddRange(w.NotValues.Select(Cidr));
                    break;
                case "destination.port":
                    m.DestinationPorts.AddRange(w.Values.Select(uint.Parse));
                    m.NotDestinationPorts.AddRange(w.NotValues.Select(uint.Parse));
                    break;
            }
            g.Rules.Add(new Rules { Matches = { m } });
        }
        return g;
    }

    private static Match SourceMatch(RuleSource s, string policyNamespace)
    {
        var m = new Match();
        m.Principals.AddRange(s.Principals.Select(Principal));
        m.NotPrincipals.AddRange(s.NotPrincipals.Select(Principal));
        m.Namespaces.AddRange(s.Namespaces.Select(StringMatchOf));
        m.NotNamespaces.AddRange(s.NotNamespaces.Select(StringMatchOf));
        m.SourceIps.AddRange(s.IpBlocks.Select(Cidr));
        m.NotSourceIps.AddRange(s.NotIpBlocks.Select(Cidr));
        m.ServiceAccounts.AddRange(s.ServiceAccounts.Select(v => ServiceAccount(v, policyNamespace)));
        m.NotServiceAccounts.AddRange(s.NotServiceAccounts.Select(v => ServiceAccount(v, policyNamespace)));
        return m;
    }

    /// <summary>Principals go on the wire without <c>spiffe://</c>.</summary>
    private static StringMatch Principal(string p) =>
        StringMatchOf(p.StartsWith("spiffe://", StringComparison.Ordinal) ? p["spiffe://".Length..] : p);

    /// <summary>
    /// Istio's string forms: <c>*</c> = present, <c>*abc</c> = suffix, <c>abc*</c> = prefix, else exact.
    /// The leading star is tested first, as istiod's stringToMatch does (<c>*abc*</c> is the suffix <c>abc*</c>).
    /// </summary>
    public static StringMatch StringMatchOf(string v) => v switch
    {
        "*" => new StringMatch { Presence = new Google.Protobuf.WellKnownTypes.Empty() },
        _ when v.StartsWith('*') => new StringMatch { Suffix = v[1..] },
        _ when v.EndsWith('*') => new StringMatch { Prefix = v[..^1] },
        _ => new StringMatch { Exact = v },
    };

    /// <summary>
    /// <c>ns/sa</c>, or a bare <c>sa</c> meaning the policy's own namespace (istiod's stringToServiceAccountMatch).
    /// A bare name used to go out with an empty namespace, which matches no peer.
    /// </summary>
    private static ServiceAccountMatch ServiceAccount(string v, string policyNamespace)
    {
        var slash = v.IndexOf('/');
        return slash < 0
            ? new ServiceAccountMatch { Namespace = policyNamespace, ServiceAccount = v }
            : new ServiceAccountMatch { Namespace = v[..slash], ServiceAccount = v[(slash + 1)..] };
    }

    /// <summary>Address bytes as written (host bits kept, like istiod's stringToIP) and the prefix length.</summary>
    public static Address Cidr(string v)
    {
        // The parser already checked the syntax with the same strict reader.
        if (!Sources.IpSyntax.TryParseCidr(v, out var ip, out var length))
            throw new FormatException($"'{v}' is not an IP address or CIDR");
        return new Address { Address_ = ByteString.CopyFrom(ip.GetAddressBytes()), Length = (uint)length };
    }
}
