using System.Net;

namespace Ambient.Agent.InPod;

/// <summary>
/// Where an outbound connection goes. <see cref="Endpoint"/> is the address to dial (for a service, the chosen
/// endpoint's IP and target port). Names feed metrics labels and the access log; null means "unknown".
/// <see cref="HboneIdentity"/> is set when the endpoint is captured by a node agent: the connection then goes over
/// HBONE to <c>Endpoint.Address:15008</c> with <c>:authority = Endpoint</c>, and the peer must present that identity.
/// </summary>
public sealed record ResolvedDestination(
    DestinationKind Kind,
    IPEndPoint Endpoint,
    string? ServiceHostname = null,
    string? WorkloadName = null,
    string? WorkloadNamespace = null,
    string? HboneIdentity = null)
{
    public static ResolvedDestination Passthrough(IPEndPoint originalDestination) => new(DestinationKind.Passthrough, originalDestination);
}
