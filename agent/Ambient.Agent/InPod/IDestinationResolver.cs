using System.Net;

namespace Ambient.Agent.InPod;

/// <summary>
/// Maps a captured connection's original destination to what to dial. Implemented by State/ (WorkloadStore +
/// LoadBalancer, honouring WDS load_balancing). Called once per connection on the hot path: answer from memory,
/// never block or do I/O.
/// </summary>
public interface IDestinationResolver
{
    /// <summary>
    /// <paramref name="originalDestination"/> is SO_ORIGINAL_DST of the captured connection; <paramref name="source"/>
    /// the pod it came from. Service VIP:port → <see cref="DestinationKind.Service"/> with a ready endpoint
    /// IP:targetPort; unknown → <see cref="ResolvedDestination.Passthrough"/>.
    /// </summary>
    ResolvedDestination Resolve(IPEndPoint originalDestination, PodRef source);

    /// <summary>The workload owning <paramref name="address"/> (for inbound source labels), or null.</summary>
    WorkloadInfo? FindWorkload(IPAddress address) => null;

    /// <summary>
    /// The identity and baggage of a local pod's workload, or null when the control plane does not list it. By name, not
    /// IP: a pod just added by the CNI plugin is captured before the control plane has heard of its address.
    /// </summary>
    WorkloadIdentity? FindIdentity(PodRef pod) => null;
}
