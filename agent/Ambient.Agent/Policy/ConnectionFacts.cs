using System.Net;
using Ambient.Agent.State;

namespace Ambient.Agent.Policy;

/// <summary>
/// What L4 authorization looks at for one inbound connection (ztunnel's <c>rbac::Connection</c> plus the destination
/// workload).
/// </summary>
/// <param name="Destination">The workload being connected to (its namespace and <c>authorization_policies</c> pick the policies).</param>
/// <param name="DestinationIp">The address the client dialled on that workload.</param>
/// <param name="DestinationPort">The target port at the app (what <c>to.operation.ports</c> and port-level mTLS name).</param>
/// <param name="SourceIp">The client's address (what <c>ipBlocks</c> match).</param>
/// <param name="Source">The client's authenticated identity; null for plaintext (no principal, namespace or service account).</param>
public sealed record ConnectionFacts(Workload Destination, IPAddress DestinationIp, int DestinationPort, IPAddress SourceIp, PeerIdentity? Source)
{
    public override string ToString() =>
        $"{SourceIp}({Source?.Uri ?? "no identity"}) -> {DestinationIp}:{DestinationPort} ({Destination.Namespace}/{Destination.Name})";
}
