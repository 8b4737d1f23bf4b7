using Ambient.ControlPlane.Model;
using Ambient.Xds.Protos.Workload;
using Google.Protobuf;

namespace Ambient.ControlPlane.Discovery;

/// <summary>Kubernetes Service → <c>istio.workload.Service</c>. Endpoints are not listed: clients derive them from <c>Workload.services</c>.</summary>
internal static class ServiceBuilder
{
    public static string ResourceName(MeshOptions mesh, ServiceObject svc) =>
        $"{svc.Meta.Namespace}/{mesh.ServiceHostname(svc.Meta.Name, svc.Meta.Namespace)}";

    public static Service Build(MeshOptions mesh, ServiceObject svc)
    {
        var s = new Service
        {
            Name = svc.Meta.Name,
            Namespace = svc.Meta.Namespace,
            Hostname = mesh.ServiceHostname(svc.Meta.Name, svc.Meta.Namespace),
            IpFamilies = IpFamiliesOf(svc),
        };
        foreach (var ip in svc.ClusterIPs)
            s.Addresses.Add(new NetworkAddress { Network = "", Address = ByteString.CopyFrom(ip.GetAddressBytes()) });
        foreach (var p in svc.Ports)
        {
            s.Ports.Add(new Port
            {
                ServicePort = (uint)p.Port,
                // A named targetPort differs per pod; 0 tells clients to use Workload.services.
                TargetPort = p.TargetPort.IsNamed ? 0u : (uint)p.TargetPort.Number,
                AppProtocol = WorkloadBuilder.AppProtocolOf(p),
            });
        }
        if (LoadBalancingOf(svc) is { } lb)
            s.LoadBalancing = lb;
        return s;
    }

    /// <summary>
    /// istiod's mapping: <c>internalTrafficPolicy: Local</c> → [NODE] STRICT; <c>trafficDistribution</c>
    /// PreferClose/PreferSameZone → [NETWORK, REGION, ZONE] FAILOVER, PreferSameNode adds SUBZONE and NODE;
    /// <c>publishNotReadyAddresses</c> → ALLOW_ALL.
    /// </summary>
    public static LoadBalancing? LoadBalancingOf(ServiceObject svc)
    {
        LoadBalancing? lb = null;
        if (svc.InternalTrafficPolicy == "Local")
        {
            lb = new LoadBalancing { Mode = LoadBalancing.Types.Mode.Strict };
            lb.RoutingPreference.Add(LoadBalancing.Types.Scope.Node);
        }
        else if (svc.TrafficDistribution is "PreferClose" or "PreferSameZone" or "PreferSameNode")
        {
            lb = new LoadBalancing { Mode = LoadBalancing.Types.Mode.Failover };
            lb.RoutingPreference.Add([LoadBalancing.Types.Scope.Network, LoadBalancing.Types.Scope.Region, LoadBalancing.Types.Scope.Zone]);
            if (svc.TrafficDistribution == "PreferSameNode")
                lb.RoutingPreference.Add([LoadBalancing.Types.Scope.Subzone, LoadBalancing.Types.Scope.Node]);
        }
        if (svc.PublishNotReadyAddresses)
        {
            lb ??= new LoadBalancing();
            lb.HealthPolicy = LoadBalancing.Types.HealthPolicy.AllowAll;
        }
        return lb;
    }

    private static IPFamilies IpFamiliesOf(ServiceObject svc)
    {
        var families = svc.IpFamilies.IsDefaultOrEmpty
            ? svc.ClusterIPs.Select(ip => ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4").Distinct().ToList()
            : svc.IpFamilies.ToList();
        return families switch
        {
            ["IPv4"] => IPFamilies.Ipv4Only,
            ["IPv6"] => IPFamilies.Ipv6Only,
            [_, _] => IPFamilies.Dual,
            _ => IPFamilies.Automatic,
        };
    }
}
