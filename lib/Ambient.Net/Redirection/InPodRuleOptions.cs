namespace Ambient.Net.Redirection;

/// <summary>Per-pod switches of the in-pod redirection (Istio's pod annotations, protocol-facts §b).</summary>
public sealed record InPodRuleOptions
{
    public static InPodRuleOptions Default { get; } = new();

    /// <summary>False is Istio's ingress mode (<c>ambient.istio.io/bypass-inbound-capture: "true"</c>): no inbound redirect, no probe skip.</summary>
    public bool InboundCapture { get; init; } = true;

    /// <summary>Interfaces whose incoming TCP goes to the outbound listener (<c>istio.io/reroute-virtual-interfaces</c>).</summary>
    public IReadOnlyList<string> RerouteVirtualInterfaces { get; init; } = [];

    /// <summary>Also program ip6tables and the IPv6 local route. Off until the data path binds IPv6 listeners.</summary>
    public bool Ipv6 { get; init; }

    // DNS capture (rules 7 and 8, the raw table) is not generated yet: the agent has no DNS proxy.
}
