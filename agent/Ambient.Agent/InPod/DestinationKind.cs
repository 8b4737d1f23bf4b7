namespace Ambient.Agent.InPod;

public enum DestinationKind
{
    /// <summary>Not in the mesh's address space: connect to the original destination unchanged.</summary>
    Passthrough,

    /// <summary>A service VIP:port, load-balanced to one ready endpoint IP:targetPort.</summary>
    Service,

    /// <summary>A known workload's own IP.</summary>
    Workload,

    /// <summary>A known service with no ready endpoint: the connection is refused (reset).</summary>
    NoHealthyEndpoint,
}
