using System.Net;
using Ambient.Agent.Inbound;
using Ambient.Agent.InPod;
using Ambient.Agent.State;
using Ambient.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ambient.Agent.Policy;

/// <summary>
/// The inbound handlers' <see cref="IInboundAuthorizer"/> over the served policies: <see cref="Check"/> evaluates
/// against the current snapshot (and counts a denial), <see cref="Track"/> keeps an admitted connection in the
/// <see cref="LiveConnectionRegistry"/> so a later policy change can abort it.
/// The destination workload is the captured pod's (by namespace/name), else whatever holds the destination IP; when
/// neither is known the connection is refused (ztunnel: "destination workload not found") unless
/// <paramref name="denyUnknownDestination"/> is false, in which case it is judged as a workload of the pod's
/// namespace without selector policies.
/// </summary>
public sealed class PolicyInboundAuthorizer(WorkloadStore store, L4PolicyEvaluator evaluator, LiveConnectionRegistry registry, PolicyMetrics metrics,
    ILogger<PolicyInboundAuthorizer>? logger = null, bool denyUnknownDestination = true) : IInboundAuthorizer
{
    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;

    public InboundVerdict Check(CapturedPod pod, IPEndPoint destination, IPEndPoint? source, SpiffeId? principal)
    {
        var snapshot = store.Current;
        var facts = Facts(snapshot, pod, destination, source, principal);
        var decision = facts is null ? PolicyDecision.UnknownDestination : evaluator.Evaluate(facts, snapshot);
        if (decision.DryRunDiffers)
            PolicyLog.DryRun(_logger, facts!, decision.Reason, decision.DryRunReason);
        if (!decision.Allowed)
            metrics.Denied(decision, DenyStage.Connect);
        return decision.Kind == DecisionKind.AllowedNoPolicies
            ? InboundVerdict.AllowedNoPolicy
            : new InboundVerdict(decision.Allowed, decision.Reason, decision.PolicyKey);
    }

    public IDisposable Track(CapturedPod pod, IPEndPoint destination, IPEndPoint? source, SpiffeId? principal, Action<string> abort)
    {
        ArgumentNullException.ThrowIfNull(abort);
        var facts = Facts(store.Current, pod, destination, source, principal);
        // Admitted by Check, gone since: nothing to re-evaluate against (its connections end with it).
        if (facts is null)
            return NoTracking.Instance;
        return registry.Register(facts, d => abort(d.Reason), afterCheck: true);
    }

    /// <summary>Null when the destination workload is unknown and such connections are refused.</summary>
    internal ConnectionFacts? Facts(WorkloadSnapshot snapshot, CapturedPod pod, IPEndPoint destination, IPEndPoint? source, SpiffeId? principal)
    {
        var workload = snapshot.FindPodWorkload(pod.Ref.Namespace, pod.Ref.Name) ?? snapshot.FindWorkload(destination.Address);
        if (workload is null)
        {
            if (denyUnknownDestination)
                return null;
            workload = new Workload { Uid = "", Name = pod.Ref.Name, Namespace = pod.Ref.Namespace };
        }
        return new ConnectionFacts(workload, destination.Address, destination.Port, source?.Address ?? IPAddress.IPv6None, PeerIdentity.From(principal));
    }

    private sealed class NoTracking : IDisposable
    {
        public static readonly NoTracking Instance = new();

        public void Dispose()
        {
        }
    }
}
