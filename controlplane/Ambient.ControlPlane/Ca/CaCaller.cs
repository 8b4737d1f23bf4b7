using Ambient.Identity;

namespace Ambient.ControlPlane.Ca;

/// <summary>
/// Who called the CA, once its credential checked out. A node proxy (<see cref="Node"/> set) may request identities
/// of pods on its node; any caller may request its own identity (<see cref="Self"/>), as in istiod.
/// </summary>
/// <param name="Description">For logs: "node node-a", "pod istio-system/ztunnel-x (sa istio-system/ztunnel)".</param>
public sealed record CaCaller(string Description, string? Node, SpiffeId? Self);
