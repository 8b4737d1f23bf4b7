using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Text;
using Ambient.Agent.State;

namespace Ambient.Agent.Policy;

/// <summary>
/// L4 authorization for inbound connections, with ztunnel's semantics (<c>assert_rbac</c> / <c>rbac.rs</c>):
/// <code>
///   applicable = NAMESPACE-scope policies of the destination's namespace
///              + GLOBAL-scope policies (the control plane gives that scope only to root-namespace policies)
///              + the destination workload's authorization_policies (selector and PeerAuthentication-derived)
///   any DENY matches            → deny
///   no ALLOW policy             → allow
///   an ALLOW matches            → allow, else deny (an ALLOW with no rules matches nothing: deny everything)
///   dry_run policies            → never enforced; evaluated and reported (what enforcing them would decide)
/// </code>
/// A policy matches if any group matches; a group if every clause has a matching entry; an entry if every field it
/// declares holds. With no identity (plaintext) every principal, namespace and service-account positive test fails
/// and every <c>not_</c> form holds: <c>not_principals: [presence]</c> is "plaintext".
/// Policies a workload lists but the snapshot lacks are skipped (a transient xDS state), as ztunnel does.
/// <para>
/// Thread-safe and allocation-free on the allow paths: policies are compiled once per policy object and indexed
/// once per <see cref="WorkloadSnapshot.Policies"/> map (unchanged by workload-only updates).
/// </para>
/// </summary>
public sealed class L4PolicyEvaluator
{
    private static readonly ConditionalWeakTable<AuthorizationPolicy, CompiledPolicy> Compiled = new();
    private PolicyIndex? _index;

    /// <summary>Decides <paramref name="facts"/> against <paramref name="snapshot"/>'s policies.</summary>
    public PolicyDecision Evaluate(ConnectionFacts facts, WorkloadSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(snapshot);
        var index = IndexFor(snapshot.Policies);
        Span<byte> src = stackalloc byte[16];
        Span<byte> dst = stackalloc byte[16];
        var peer = new Peer(Peer.Bytes(facts.SourceIp, src), Peer.Bytes(facts.DestinationIp, dst), facts.DestinationPort, facts.Source);
        var dest = facts.Destination;

        CompiledPolicy? deny = null;
        int enforced = 0, allows = 0;
        var anyDryRun = false;
        var e = new Applicable(index, dest);
        while (e.MoveNext())
        {
            var p = e.Current;
            if (p.Source.DryRun)
            {
                anyDryRun = true;
                continue;
            }
            enforced++;
            if (!p.IsDeny)
                allows++;
            else if (deny is null && p.Matches(in peer))
                deny = p;
        }

        CompiledPolicy? allowedBy = null;
        if (deny is null && allows > 0)
        {
            e = new Applicable(index, dest);
            while (e.MoveNext())
            {
                var p = e.Current;
                if (!p.Source.DryRun && !p.IsDeny && p.Matches(in peer))
                {
                    allowedBy = p;
                    break;
                }
            }
        }

        if (!anyDryRun)
        {
            if (deny is not null)
                return new PolicyDecision(DecisionKind.DeniedByPolicy, deny.Source, null, [], null, null);
            if (allows == 0)
                return enforced == 0 ? PolicyDecision.NoPolicies : PolicyDecision.NoDenyMatch;
            if (allowedBy is not null)
                return new PolicyDecision(DecisionKind.AllowedByPolicy, allowedBy.Source, null, [], null, null);
            return new PolicyDecision(DecisionKind.DeniedNoAllowMatch, null, AllowKeys(index, dest, includeDryRun: false), [], null, null);
        }
        return WithDryRun(index, dest, in peer, enforced, allows, deny, allowedBy);
    }

    /// <summary>The policies that apply to <paramref name="destination"/> (enforced and dry-run), in evaluation order.</summary>
    public IReadOnlyList<AuthorizationPolicy> ApplicablePolicies(Workload destination, WorkloadSnapshot snapshot)
    {
        var list = new List<AuthorizationPolicy>();
        var e = new Applicable(IndexFor(snapshot.Policies), destination);
        while (e.MoveNext())
            list.Add(e.Current.Source);
        return list;
    }

    /// <summary>Whether <paramref name="policy"/> matches <paramref name="facts"/>, action and dry-run aside.</summary>
    public static bool Matches(AuthorizationPolicy policy, ConnectionFacts facts)
    {
        Span<byte> src = stackalloc byte[16];
        Span<byte> dst = stackalloc byte[16];
        var peer = new Peer(Peer.Bytes(facts.SourceIp, src), Peer.Bytes(facts.DestinationIp, dst), facts.DestinationPort, facts.Source);
        return Compile(policy).Matches(in peer);
    }

    /// <summary>The policies the control plane derives from PeerAuthentication (mTLS mode), not AuthorizationPolicy.</summary>
    public static bool IsPeerAuthentication(AuthorizationPolicy policy) =>
        policy.Name is "istio_converted_static_strict" || policy.Name.StartsWith("converted_peer_authentication_", StringComparison.Ordinal);

    private static CompiledPolicy Compile(AuthorizationPolicy policy) =>
        Compiled.GetValue(policy, static p => CompiledPolicy.Compile(p));

    private PolicyIndex IndexFor(ImmutableDictionary<string, AuthorizationPolicy> policies)
    {
        var index = Volatile.Read(ref _index);
        if (index is not null && ReferenceEquals(index.Source, policies))
            return index;
        // Racing builders produce equal indexes; the last write wins.
        index = new PolicyIndex(policies);
        Volatile.Write(ref _index, index);
        return index;
    }

    /// <summary>The decision as if dry-run policies were enforced too, and each dry-run policy's own result.</summary>
    private static PolicyDecision WithDryRun(PolicyIndex index, Workload dest, in Peer peer, int enforced, int allows,
        CompiledPolicy? deny, CompiledPolicy? allowedBy)
    {
        var results = ImmutableArray.CreateBuilder<DryRunResult>();
        CompiledPolicy? shadowDeny = deny, shadowAllow = allowedBy;
        var shadowAllows = allows;
        var e = new Applicable(index, dest);
        while (e.MoveNext())
        {
            var p = e.Current;
            if (!p.Source.DryRun)
                continue;
            var matched = p.Matches(in peer);
            results.Add(new DryRunResult(p.Source, matched));
            if (p.IsDeny)
            {
                if (matched)
                    shadowDeny ??= p;
            }
            else
            {
                shadowAllows++;
                if (matched)
                    shadowAllow ??= p;
            }
        }

        var (kind, policy) = deny is not null ? (DecisionKind.DeniedByPolicy, deny.Source)
            : allows == 0 ? (enforced == 0 ? DecisionKind.AllowedNoPolicies : DecisionKind.AllowedNoDenyMatch, null)
            : allowedBy is not null ? (DecisionKind.AllowedByPolicy, allowedBy.Source)
            : (DecisionKind.DeniedNoAllowMatch, (AuthorizationPolicy?)null);
        var shadow = shadowDeny is not null ? new PolicyDecision(DecisionKind.DeniedByPolicy, shadowDeny.Source, null, [], null, null)
            : shadowAllows == 0 ? (enforced + results.Count == 0 ? PolicyDecision.NoPolicies : PolicyDecision.NoDenyMatch)
            : shadowAllow is not null ? new PolicyDecision(DecisionKind.AllowedByPolicy, shadowAllow.Source, null, [], null, null)
            : new PolicyDecision(DecisionKind.DeniedNoAllowMatch, null, AllowKeys(index, dest, includeDryRun: true), [], null, null);
        var shadowReason = shadow.Allowed ? shadow.Reason : "would be " + shadow.Reason;
        return new PolicyDecision(kind, policy, kind == DecisionKind.DeniedNoAllowMatch ? AllowKeys(index, dest, includeDryRun: false) : null,
            results.ToImmutable(), shadow.Allowed, shadowReason);
    }

    /// <summary>The ALLOW policies that applied, for the "no ALLOW policy matched" reason (deny path only).</summary>
    private static string AllowKeys(PolicyIndex index, Workload dest, bool includeDryRun)
    {
        var sb = new StringBuilder();
        var e = new Applicable(index, dest);
        while (e.MoveNext())
        {
            var p = e.Current.Source;
            if (p.Action != PolicyAction.Allow || (p.DryRun && !includeDryRun))
                continue;
            if (sb.Length > 0)
                sb.Append(", ");
            sb.Append(p.Namespace).Append('/').Append(p.Name);
            if (p.DryRun)
                sb.Append(" (dry-run)");
        }
        return sb.ToString();
    }

    /// <summary>One policies map, compiled and grouped by where it applies.</summary>
    private sealed class PolicyIndex
    {
        public PolicyIndex(ImmutableDictionary<string, AuthorizationPolicy> source)
        {
            Source = source;
            var global = new List<CompiledPolicy>();
            var byNs = new Dictionary<string, List<CompiledPolicy>>(StringComparer.Ordinal);
            ByKey = new Dictionary<string, CompiledPolicy>(source.Count, StringComparer.Ordinal);
            // Sorted by key so evaluation (and so which policy is reported) does not depend on hash order.
            foreach (var (key, policy) in source.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                var c = Compile(policy);
                ByKey[key] = c;
                switch (policy.Scope)
                {
                    case PolicyScope.Global:
                        global.Add(c);
                        break;
                    case PolicyScope.Namespace:
                        if (!byNs.TryGetValue(policy.Namespace, out var list))
                            byNs[policy.Namespace] = list = [];
                        list.Add(c);
                        break;
                }
            }
            Global = [.. global];
            ByNamespace = byNs.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
        }

        public ImmutableDictionary<string, AuthorizationPolicy> Source { get; }
        public CompiledPolicy[] Global { get; }
        public Dictionary<string, CompiledPolicy[]> ByNamespace { get; }
        public Dictionary<string, CompiledPolicy> ByKey { get; }
    }

    /// <summary>Namespace policies, then global ones, then the workload's listed ones (ztunnel's order); no allocation.</summary>
    private struct Applicable(PolicyIndex index, Workload dest)
    {
        private readonly CompiledPolicy[] _ns = index.ByNamespace.TryGetValue(dest.Namespace, out var n) ? n : [];
        private readonly ImmutableArray<string> _keys = dest.AuthorizationPolicies;
        private int _stage, _i;

        public CompiledPolicy Current { get; private set; } = null!;

        public bool MoveNext()
        {
            while (true)
            {
                switch (_stage)
                {
                    case 0:
                        if (_i < _ns.Length)
                        {
                            Current = _ns[_i++];
                            return true;
                        }
                        break;
                    case 1:
                        if (_i < index.Global.Length)
                        {
                            Current = index.Global[_i++];
                            return true;
                        }
                        break;
                    case 2:
                        while (!_keys.IsDefault && _i < _keys.Length)
                        {
                            // Not served (yet, or any more): skipped, as ztunnel does.
                            if (index.ByKey.TryGetValue(_keys[_i++], out var p))
                            {
                                Current = p;
                                return true;
                            }
                        }
                        break;
                    default:
                        return false;
                }
                _stage++;
                _i = 0;
            }
        }
    }
}
