using System.Collections.Immutable;
using Ambient.ControlPlane.Model;

namespace Ambient.ControlPlane.Sources;

/// <summary>Validating readers for security.istio.io AuthorizationPolicy and PeerAuthentication (Istio's YAML, unchanged).</summary>
internal static class SecurityObjectParser
{
    public static AuthorizationPolicyObject AuthorizationPolicy(YamlCursor doc)
    {
        var meta = CoreObjectParser.Meta(doc, clusterScoped: false);
        var spec = doc["spec"];
        var selector = MatchLabels(spec["selector"]);

        var refs = ImmutableArray.CreateBuilder<PolicyTargetRef>();
        if (spec["targetRef"].Exists)
            refs.Add(TargetRef(spec["targetRef"]));
        foreach (var r in spec["targetRefs"].Items())
            refs.Add(TargetRef(r));
        if (selector is not null && refs.Count > 0)
        {
            // Name the field actually written (it used to say spec.targetRefs for a singular targetRef too).
            var refsField = spec["targetRefs"].Exists ? spec["targetRefs"] : spec["targetRef"];
            throw refsField.Error("selector and targetRefs are mutually exclusive");
        }

        var actionCursor = spec["action"];
        var action = (actionCursor.StringOrNull() ?? "ALLOW") switch
        {
            "ALLOW" => AuthorizationAction.Allow,
            "DENY" => AuthorizationAction.Deny,
            "AUDIT" => AuthorizationAction.Audit,
            "CUSTOM" => AuthorizationAction.Custom,
            var other => throw actionCursor.Error($"'{other}' must be ALLOW, DENY, AUDIT or CUSTOM"),
        };

        var rules = spec["rules"].Items().Select(Rule).ToImmutable();
        var dryRunValue = meta.Annotations.GetValueOrDefault("istio.io/dry-run");
        var dryRun = dryRunValue switch
        {
            null or "false" => false,
            "true" => true,
            _ => throw doc["metadata"]["annotations"]["istio.io/dry-run"].Error($"'{dryRunValue}' must be true or false"),
        };
        return new AuthorizationPolicyObject(meta, selector, refs.ToImmutable(), action, rules, spec["rules"].Exists, dryRun);
    }

    public static PeerAuthenticationObject PeerAuthentication(YamlCursor doc)
    {
        var meta = CoreObjectParser.Meta(doc, clusterScoped: false);
        var spec = doc["spec"];
        var mode = Mode(spec["mtls"]["mode"]);
        var portLevel = ImmutableDictionary.CreateBuilder<int, MutualTlsMode>();
        var pl = spec["portLevelMtls"];
        if (pl.Exists)
        {
            if (pl.Node is not YamlDotNet.RepresentationModel.YamlMappingNode map)
                throw pl.Error("expected a mapping of port to mtls");
            foreach (var (k, _) in map.Children)
            {
                // A non-scalar key (`? [a]: b`) used to throw InvalidCastException, escaping the file:line:field report.
                if (k is not YamlDotNet.RepresentationModel.YamlScalarNode { Value: { } key })
                    throw pl.Error("keys must be port numbers");
                var entry = pl[key];
                if (!int.TryParse(key, out var port) || port is < 1 or > 65535)
                    throw entry.Error($"'{key}' is not a port number");
                portLevel[port] = Mode(entry["mode"]);
            }
        }
        var selector = MatchLabels(spec["selector"]);
        if (portLevel.Count > 0 && selector is null)
            throw pl.Error("portLevelMtls requires a workload selector");
        return new PeerAuthenticationObject(meta, selector, mode, portLevel.ToImmutable());
    }

    private static MutualTlsMode Mode(YamlCursor c) => c.StringOrNull() switch
    {
        null or "UNSET" => MutualTlsMode.Unset,
        "DISABLE" => MutualTlsMode.Disable,
        "PERMISSIVE" => MutualTlsMode.Permissive,
        "STRICT" => MutualTlsMode.Strict,
        var other => throw c.Error($"'{other}' must be UNSET, DISABLE, PERMISSIVE or STRICT"),
    };

    private static ImmutableDictionary<string, string>? MatchLabels(YamlCursor selector) =>
        selector.Exists ? selector["matchLabels"].StringMap() : null;

    private static PolicyTargetRef TargetRef(YamlCursor c) =>
        new(c["group"].StringOrNull() ?? "", c["kind"].RequiredString(), c["name"].RequiredString());

    private static AuthorizationRule Rule(YamlCursor rule)
    {
        var from = rule["from"].Items().Select(f => Source(f["source"])).ToImmutable();
        var to = rule["to"].Items().Select(t => Operation(t["operation"])).ToImmutable();
        var when = rule["when"].Items().Select(Condition).ToImmutable();
        return new AuthorizationRule(from, to, when);
    }

    /// <summary>
    /// A <c>when</c> condition. The values of the L4 keys node agents enforce are checked here, as Istio's webhook
    /// does: they used to reach the builder unchecked, where <c>destination.port: [http]</c> threw a FormatException
    /// out of SnapshotBuilder.Build and stopped the publisher.
    /// </summary>
    private static RuleCondition Condition(YamlCursor w)
    {
        var key = w["key"].RequiredString();
        if (!w["values"].Exists && !w["notValues"].Exists)
            throw w.Error($"condition '{key}' needs values or notValues");
        foreach (var field in new[] { "values", "notValues" })
        {
            foreach (var item in w[field].Items())
            {
                switch (key)
                {
                    case "source.ip" or "destination.ip":
                        Cidr(item);
                        break;
                    case "destination.port":
                        _ = item.IntOrNull(1, 65535) ?? throw item.Error("must be a port number");
                        break;
                }
            }
        }
        return new RuleCondition(key, w["values"].StringList(), w["notValues"].StringList());
    }

    private static RuleSource Source(YamlCursor s)
    {
        if (!s.Exists)
            throw s.Error("is required in each 'from' entry");
        var l7 = ImmutableArray.CreateBuilder<string>();
        foreach (var f in new[] { "requestPrincipals", "notRequestPrincipals", "remoteIpBlocks", "notRemoteIpBlocks" })
        {
            if (s[f].Exists)
                l7.Add(f);
        }
        return new RuleSource(
            s["principals"].StringList(),
            s["notPrincipals"].StringList(),
            s["namespaces"].StringList(),
            s["notNamespaces"].StringList(),
            Cidrs(s["ipBlocks"]),
            Cidrs(s["notIpBlocks"]),
            s["serviceAccounts"].StringList(),
            s["notServiceAccounts"].StringList(),
            l7.ToImmutable());
    }

    private static RuleOperation Operation(YamlCursor o)
    {
        if (!o.Exists)
            throw o.Error("is required in each 'to' entry");
        var l7 = ImmutableArray.CreateBuilder<string>();
        foreach (var f in new[] { "hosts", "notHosts", "methods", "notMethods", "paths", "notPaths" })
        {
            if (o[f].Exists)
                l7.Add(f);
        }
        return new RuleOperation(Ports(o["ports"]), Ports(o["notPorts"]), l7.ToImmutable());
    }

    private static ImmutableArray<int> Ports(YamlCursor c) =>
        c.Items().Select(i => i.IntOrNull(1, 65535) ?? throw i.Error("must be a port number")).ToImmutable();

    private static ImmutableArray<string> Cidrs(YamlCursor c)
    {
        foreach (var item in c.Items())
            Cidr(item);
        return c.StringList();
    }

    /// <summary>
    /// Strict syntax (IpSyntax): IPNetwork/IPAddress.TryParse took "010.0.0.0/8" as 8.0.0.0/8 and "10.1" as
    /// 10.0.0.1, silently changing which peers a policy matches.
    /// </summary>
    private static void Cidr(YamlCursor item)
    {
        var s = item.RequiredString();
        if (!IpSyntax.TryParseCidr(s, out _, out _))
            throw item.Error($"'{s}' is not an IP address or CIDR");
    }
}
