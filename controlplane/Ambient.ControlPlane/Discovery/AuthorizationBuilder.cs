using IPAddress = System.Net.IPAddress;
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
            if (l7.Count > 0)
            {
                warnings.Add($"AuthorizationPolicy {p.Meta.Namespace}/{p.Meta.Name} rules[{i}]: {string.Join(", ", l7)} need a waypoint; "
                    + (isAllow ? "the node agent treats this ALLOW rule as never matching" : "the node agent enforces this DENY rule without them"));
                if (isAllow)
                    continue;
            }
            a.Groups.Add(Group(rule));
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

    private static Group Group(AuthorizationRule rule)
    {
        var g = new Group();
        if (rule.From.Length > 0)
        {
            var clause = new Rules();
            foreach (var f in rule.From)
                clause.Matches.Add(SourceMatch(f));
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
            if (!IsL4Condition(w.Key))
                continue;
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

    private static Match SourceMatch(RuleSource s)
    {
        var m = new Match();
        m.Principals.AddRange(s.Principals.Select(Principal));
        m.NotPrincipals.AddRange(s.NotPrincipals.Select(Principal));
        m.Namespaces.AddRange(s.Namespaces.Select(StringMatchOf));
        m.NotNamespaces.AddRange(s.NotNamespaces.Select(StringMatchOf));
        m.SourceIps.AddRange(s.IpBlocks.Select(Cidr));
        m.NotSourceIps.AddRange(s.NotIpBlocks.Select(Cidr));
        m.ServiceAccounts.AddRange(s.ServiceAccounts.Select(ServiceAccount));
        m.NotServiceAccounts.AddRange(s.NotServiceAccounts.Select(ServiceAccount));
        return m;
    }

    /// <summary>Principals go on the wire without <c>spiffe://</c>.</summary>
    private static StringMatch Principal(string p) =>
        StringMatchOf(p.StartsWith("spiffe://", StringComparison.Ordinal) ? p["spiffe://".Length..] : p);

    /// <summary>Istio's string forms: <c>*</c> = present, <c>abc*</c> = prefix, <c>*abc</c> = suffix, else exact.</summary>
    public static StringMatch StringMatchOf(string v) => v switch
    {
        "*" => new StringMatch { Presence = new Google.Protobuf.WellKnownTypes.Empty() },
        _ when v.EndsWith('*') => new StringMatch { Prefix = v[..^1] },
        _ when v.StartsWith('*') => new StringMatch { Suffix = v[1..] },
        _ => new StringMatch { Exact = v },
    };

    private static ServiceAccountMatch ServiceAccount(string v)
    {
        var slash = v.IndexOf('/');
        return slash < 0 ? new ServiceAccountMatch { ServiceAccount = v } : new ServiceAccountMatch { Namespace = v[..slash], ServiceAccount = v[(slash + 1)..] };
    }

    public static Address Cidr(string v)
    {
        var slash = v.IndexOf('/');
        var ip = IPAddress.Parse(slash < 0 ? v : v[..slash]);
        var bytes = ip.GetAddressBytes();
        var length = slash < 0 ? (uint)bytes.Length * 8 : uint.Parse(v[(slash + 1)..]);
        return new Address { Address_ = ByteString.CopyFrom(bytes), Length = length };
    }
}
