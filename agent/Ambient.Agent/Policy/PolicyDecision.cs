using System.Collections.Immutable;
using Ambient.Agent.State;

namespace Ambient.Agent.Policy;

public enum DecisionKind
{
    /// <summary>No enforced policy applies to the destination.</summary>
    AllowedNoPolicies,

    /// <summary>Only DENY policies apply and none matched.</summary>
    AllowedNoDenyMatch,

    /// <summary>An ALLOW policy matched (and no DENY did).</summary>
    AllowedByPolicy,

    /// <summary>A DENY policy matched.</summary>
    DeniedByPolicy,

    /// <summary>ALLOW policies apply and none matched.</summary>
    DeniedNoAllowMatch,

    /// <summary>The destination is no known workload, so its policies are unknown: refused, as ztunnel does.</summary>
    DeniedUnknownDestination,
}

/// <summary>Why a connection was denied, as the metrics label it.</summary>
public enum DenyCategory
{
    None,

    /// <summary>A DENY AuthorizationPolicy matched.</summary>
    DenyPolicy,

    /// <summary>A PeerAuthentication (STRICT mTLS) converted policy matched: a plaintext client.</summary>
    MtlsStrict,

    /// <summary>ALLOW policies apply and none matched.</summary>
    NotAllowed,

    /// <summary>The destination workload is not (yet) known.</summary>
    UnknownDestination,
}

/// <summary>A dry-run policy that applies to the connection and whether it matched.</summary>
public readonly record struct DryRunResult(AuthorizationPolicy Policy, bool Matched)
{
    public override string ToString() =>
        $"dry-run {(Policy.Action == PolicyAction.Deny ? "DENY" : "ALLOW")} policy {Policy.Key} {(Matched ? "matched" : "did not match")}";
}

/// <summary>
/// The outcome of <see cref="L4PolicyEvaluator.Evaluate"/>. A struct so the common allow paths allocate nothing; the
/// human <see cref="Reason"/> is built when read.
/// </summary>
public readonly struct PolicyDecision
{
    private readonly string? _candidates;
    private readonly ImmutableArray<DryRunResult> _dryRun;

    internal PolicyDecision(DecisionKind kind, AuthorizationPolicy? policy, string? candidates,
        ImmutableArray<DryRunResult> dryRun, bool? dryRunWouldAllow, string? dryRunReason)
    {
        Kind = kind;
        Policy = policy;
        _candidates = candidates;
        _dryRun = dryRun;
        DryRunWouldAllow = dryRunWouldAllow;
        DryRunReason = dryRunReason;
    }

    public static PolicyDecision NoPolicies { get; } = new(DecisionKind.AllowedNoPolicies, null, null, [], null, null);

    public static PolicyDecision NoDenyMatch { get; } = new(DecisionKind.AllowedNoDenyMatch, null, null, [], null, null);

    public static PolicyDecision UnknownDestination { get; } = new(DecisionKind.DeniedUnknownDestination, null, null, [], null, null);

    public DecisionKind Kind { get; }

    public bool Allowed => Kind is DecisionKind.AllowedNoPolicies or DecisionKind.AllowedNoDenyMatch or DecisionKind.AllowedByPolicy;

    /// <summary>The deciding policy: the ALLOW that admitted or the DENY that refused; null otherwise.</summary>
    public AuthorizationPolicy? Policy { get; }

    /// <summary>The deciding policy as <c>ns/name</c>, or null.</summary>
    public string? PolicyKey => Policy?.Key;

    public DenyCategory Category => Kind switch
    {
        DecisionKind.DeniedByPolicy => L4PolicyEvaluator.IsPeerAuthentication(Policy!) ? DenyCategory.MtlsStrict : DenyCategory.DenyPolicy,
        DecisionKind.DeniedNoAllowMatch => DenyCategory.NotAllowed,
        DecisionKind.DeniedUnknownDestination => DenyCategory.UnknownDestination,
        _ => DenyCategory.None,
    };

    public string Reason => Kind switch
    {
        DecisionKind.AllowedNoPolicies => "allowed: no policies",
        DecisionKind.AllowedNoDenyMatch => "allowed: no DENY policy matched and no ALLOW policies",
        DecisionKind.AllowedByPolicy => $"allowed by ALLOW policy {Policy!.Key}",
        DecisionKind.DeniedByPolicy when L4PolicyEvaluator.IsPeerAuthentication(Policy!) =>
            $"denied by DENY policy {Policy!.Key} (PeerAuthentication STRICT: mTLS required)",
        DecisionKind.DeniedByPolicy => $"denied by DENY policy {Policy!.Key}",
        DecisionKind.DeniedNoAllowMatch => $"no ALLOW policy matched (policies: {_candidates})",
        DecisionKind.DeniedUnknownDestination => "denied: destination workload not found",
        _ => Kind.ToString(),
    };

    /// <summary>Every dry-run policy that applies, in evaluation order; empty when none does.</summary>
    public ImmutableArray<DryRunResult> DryRun => _dryRun.IsDefault ? [] : _dryRun;

    /// <summary>What the decision would be if the dry-run policies were enforced too; null when none applies.</summary>
    public bool? DryRunWouldAllow { get; }

    /// <summary>The reason of that hypothetical decision (same wording as <see cref="Reason"/>); null when none applies.</summary>
    public string? DryRunReason { get; }

    /// <summary>Dry-run policies would flip this decision (the interesting case to log).</summary>
    public bool DryRunDiffers => DryRunWouldAllow is { } w && w != Allowed;

    public override string ToString() => DryRunReason is null ? Reason : $"{Reason}; dry-run: {DryRunReason}";
}
