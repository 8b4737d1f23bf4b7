using System.Collections.Immutable;

namespace Ambient.ControlPlane.Model;

/// <summary>A Gateway API style reference from a policy to what it applies to.</summary>
public sealed record PolicyTargetRef(string Group, string Kind, string Name);

public enum AuthorizationAction { Allow, Deny, Audit, Custom }

/// <summary>security.istio.io/v1 AuthorizationPolicy, as written by the user (validated, not translated).</summary>
public sealed record AuthorizationPolicyObject(
    ObjectMeta Meta,
    ImmutableDictionary<string, string>? Selector,
    ImmutableArray<PolicyTargetRef> TargetRefs,
    AuthorizationAction Action,
    ImmutableArray<AuthorizationRule> Rules,
    bool HasRules,
    bool DryRun) : KubeObject(Meta)
{
    public override string Kind => "AuthorizationPolicy";
}

public sealed record AuthorizationRule(
    ImmutableArray<RuleSource> From,
    ImmutableArray<RuleOperation> To,
    ImmutableArray<RuleCondition> When);

public sealed record RuleSource(
    ImmutableArray<string> Principals,
    ImmutableArray<string> NotPrincipals,
    ImmutableArray<string> Namespaces,
    ImmutableArray<string> NotNamespaces,
    ImmutableArray<string> IpBlocks,
    ImmutableArray<string> NotIpBlocks,
    ImmutableArray<string> ServiceAccounts,
    ImmutableArray<string> NotServiceAccounts,
    /// <summary>Fields only a waypoint can check (requestPrincipals, remoteIpBlocks, …), by name.</summary>
    ImmutableArray<string> L7Fields);

public sealed record RuleOperation(
    ImmutableArray<int> Ports,
    ImmutableArray<int> NotPorts,
    ImmutableArray<string> L7Fields);

public sealed record RuleCondition(string Key, ImmutableArray<string> Values, ImmutableArray<string> NotValues);

public enum MutualTlsMode { Unset, Disable, Permissive, Strict }

/// <summary>security.istio.io/v1 PeerAuthentication.</summary>
public sealed record PeerAuthenticationObject(
    ObjectMeta Meta,
    ImmutableDictionary<string, string>? Selector,
    MutualTlsMode Mode,
    ImmutableDictionary<int, MutualTlsMode> PortLevel) : KubeObject(Meta)
{
    public override string Kind => "PeerAuthentication";
}
