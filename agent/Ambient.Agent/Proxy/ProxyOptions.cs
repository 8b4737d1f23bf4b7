using Ambient.Net.Redirection;

namespace Ambient.Agent.Proxy;

/// <summary>Data-path settings. Defaults are ztunnel's.</summary>
public sealed class ProxyOptions
{
    /// <summary>Upstream connect deadline (ztunnel: 10 s).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>SO_MARK on every socket the agent opens in a pod netns; the in-pod rules key on it.</summary>
    public uint PacketMark { get; set; } = InPodRules.InpodMark;

    public int OutboundPort { get; set; } = InPodRules.OutboundPort;

    public int InboundPlaintextPort { get; set; } = InPodRules.InboundPlaintextPort;

    public int InboundHbonePort { get; set; } = InPodRules.InboundHbonePort;

    /// <summary>
    /// Destination ports that would loop back into the agent (ztunnel's illegal_ports): 15001, 15006, 15008.
    /// </summary>
    public IReadOnlySet<int> SelfPorts { get; } = new HashSet<int> { InPodRules.OutboundPort, InPodRules.InboundPlaintextPort, InPodRules.InboundHbonePort };
}
