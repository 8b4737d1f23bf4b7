using System.Net;
using Ambient.Agent.InPod;
using Ambient.Identity;

namespace Ambient.Agent.State;

/// <summary>The data path's <see cref="IEnrollment"/> seam over <see cref="PodEnrollmentView"/>.</summary>
public sealed class EnrollmentAdapter : IEnrollment, IDisposable
{
    private readonly PodEnrollmentView _view;

    public EnrollmentAdapter(PodEnrollmentView view)
    {
        _view = view;
        _view.Changed += OnViewChanged;
    }

    /// <summary>Raised when a known pod's enrolment flips (namespace or pod label changed); on the xDS receive thread.</summary>
    public event Action<EnrollmentChange>? Changed;

    public async Task<EnrollmentDecision> WaitForPodAsync(string podNamespace, string podName, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pod = await _view.WaitForPodAsync(podNamespace, podName, timeout, cancellationToken).ConfigureAwait(false);
        return Decide(pod, podNamespace, podName, timeout, _view.Synced.IsCompleted);
    }

    /// <summary>The decision for what the view knows (pure; table-tested).</summary>
    public static EnrollmentDecision Decide(PodEnrollmentInfo? pod, string podNamespace, string podName, TimeSpan waited, bool synced)
    {
        if (pod is null)
        {
            return EnrollmentDecision.Unknown(synced
                ? $"the control plane does not list pod {podNamespace}/{podName} (waited {waited.TotalSeconds:0.#}s)"
                : "no PodEnrollment from the control plane yet (not synced)");
        }
        return pod.Enrolled
            ? new EnrollmentDecision(EnrollmentStatus.Enrolled, pod.Uid, "ambient enablement selectors match")
            : new EnrollmentDecision(EnrollmentStatus.NotEnrolled, pod.Uid, "not ambient (istio.io/dataplane-mode), or host network");
    }

    private void OnViewChanged(PodEnrollmentEvent e)
    {
        if (e.EnrollmentFlipped)
            Changed?.Invoke(new EnrollmentChange(e.Current!.Namespace, e.Current.Name, e.Current.Uid, e.Current.Enrolled));
    }

    public void Dispose() => _view.Changed -= OnViewChanged;
}

/// <summary>The data path's <see cref="IDestinationResolver"/> seam over <see cref="LoadBalancer"/>.</summary>
public sealed class DestinationResolverAdapter(LoadBalancer balancer, PodEnrollmentView? enrollment = null, string trustDomain = "cluster.local") : IDestinationResolver
{
    public ResolvedDestination Resolve(IPEndPoint originalDestination, PodRef source) =>
        ToResolved(balancer.Resolve(originalDestination, source.Namespace, source.Name));

    public WorkloadInfo? FindWorkload(IPAddress address) =>
        balancer.Store.Current.FindWorkload(address) is { } w ? new WorkloadInfo(w.Name, w.Namespace, w.ServiceAccount) : null;

    /// <summary>
    /// <see cref="Route"/> → <see cref="ResolvedDestination"/>; an HBONE endpoint carries its identity.
    /// </summary>
    /// <summary>
    /// From the pod's workload (WDS) when published; before that — a pod whose IP the control plane has not seen yet is
    /// not a workload, as in istiod — from its PodEnrollment (service account), as ztunnel takes it from ZDS.
    /// </summary>
    public WorkloadIdentity? FindIdentity(PodRef pod)
    {
        if (balancer.Store.Current.FindPodWorkload(pod.Namespace, pod.Name) is { } w)
            return Baggage.IdentityOf(w);
        if (enrollment?.Get(pod.Namespace, pod.Name) is { } e && SpiffeId.TryParse($"{SpiffeId.Scheme}{trustDomain}/ns/{e.Namespace}/sa/{(e.ServiceAccount.Length > 0 ? e.ServiceAccount : "default")}", out var id))
            return new WorkloadIdentity(id, e.Name, e.Namespace, $"k8s.namespace.name={e.Namespace},k8s.pod.name={e.Name}");
        return null;
    }

    private static string? HboneIdentity(Route route) => route.Hbone ? route.Workload!.Identity : null;

    public static ResolvedDestination ToResolved(Route route) => route.Kind switch
    {
        RouteKind.Service => new ResolvedDestination(DestinationKind.Service, route.Target, route.Service!.Hostname, route.Workload!.Name, route.Workload.Namespace, HboneIdentity(route)),
        RouteKind.Workload => new ResolvedDestination(DestinationKind.Workload, route.Target, null, route.Workload!.Name, route.Workload.Namespace, HboneIdentity(route)),
        RouteKind.NoHealthyUpstream => new ResolvedDestination(DestinationKind.NoHealthyEndpoint, route.Original, route.Service?.Hostname),
        _ => new ResolvedDestination(DestinationKind.Passthrough, route.Original, route.Service?.Hostname),
    };
}
