using Ambient.ControlPlane.Model;
using Ambient.Xds;
using Ambient.Xds.Protos.Cluster;
using Ambient.Xds.Protos.Core;
using Ambient.Xds.Protos.Endpoint;
using Ambient.Xds.Protos.Hcm;
using Ambient.Xds.Protos.Listener;
using Ambient.Xds.Protos.Route;
using Ambient.Xds.Protos.Router;
using Google.Protobuf.WellKnownTypes;

namespace Ambient.ControlPlane.Discovery;

/// <summary>
/// Envoy v3 resources for each TCP service port, in Istio's proxyless-gRPC shape:
/// <code>
///   Listener "host:port" (api_listener: HCM, RDS over ADS, router filter)
///     → RouteConfiguration "host:port" (one virtual host, prefix "/")
///       → Cluster "outbound|port||host" (EDS over ADS, round robin)
///         → ClusterLoadAssignment "outbound|port||host" (ready pod IP:targetPort)
/// </code>
/// so that <c>xds:///host:port</c> resolves and load-balances over the service's ready endpoints.
/// </summary>
internal static class EnvoyBuilder
{
    public static string ListenerName(string hostname, int port) => $"{hostname}:{port}";

    public static string ClusterName(string hostname, int port) => $"outbound|{port}||{hostname}";

    private static readonly ConfigSource Ads = new() { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 };

    public static Listener Listener(string hostname, int port)
    {
        var name = ListenerName(hostname, port);
        var hcm = new HttpConnectionManager
        {
            StatPrefix = name,
            Rds = new Rds { ConfigSource = Ads, RouteConfigName = name },
        };
        hcm.HttpFilters.Add(new HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new Router()) });
        return new Listener { Name = name, ApiListener = new ApiListener { ApiListener_ = Any.Pack(hcm) } };
    }

    public static RouteConfiguration Route(ServiceObject svc, string hostname, int port)
    {
        var name = ListenerName(hostname, port);
        var vh = new VirtualHost { Name = name };
        // Every name a client in the cluster may use for the service, with and without the port.
        var ns = svc.Meta.Namespace;
        foreach (var d in new[] { hostname, svc.Meta.Name, $"{svc.Meta.Name}.{ns}", $"{svc.Meta.Name}.{ns}.svc" })
        {
            vh.Domains.Add(d);
            vh.Domains.Add($"{d}:{port}");
        }
        foreach (var ip in svc.ClusterIPs)
            vh.Domains.Add(ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]:{port}" : $"{ip}:{port}");
        vh.Routes.Add(new Ambient.Xds.Protos.Route.Route
        {
            Name = "default",
            Match = new RouteMatch { Prefix = "/" },
            Route_ = new RouteAction { Cluster = ClusterName(hostname, port) },
        });
        var rc = new RouteConfiguration { Name = name };
        rc.VirtualHosts.Add(vh);
        return rc;
    }

    public static Cluster Cluster(string hostname, int port)
    {
        var name = ClusterName(hostname, port);
        return new Cluster
        {
            Name = name,
            Type = Ambient.Xds.Protos.Cluster.Cluster.Types.DiscoveryType.Eds,
            EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = Ads, ServiceName = name },
            ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
            LbPolicy = Ambient.Xds.Protos.Cluster.Cluster.Types.LbPolicy.RoundRobin,
        };
    }

    public static ClusterLoadAssignment LoadAssignment(ServiceObject svc, ServicePort port, string hostname, IEnumerable<PodObject> pods)
    {
        var locality = new LocalityLbEndpoints { Locality = new Locality() };
        foreach (var pod in pods)
        {
            if (pod.PodIPs.IsDefaultOrEmpty || WorkloadBuilder.ResolveTargetPort(port, pod) is not { } target)
                continue;
            var healthy = pod.Ready || svc.PublishNotReadyAddresses;
            locality.LbEndpoints.Add(new LbEndpoint
            {
                Endpoint = new Ambient.Xds.Protos.Endpoint.Endpoint
                {
                    Address = new Address { SocketAddress = new SocketAddress { Address = pod.PodIPs[0].ToString(), PortValue = (uint)target } },
                },
                HealthStatus = healthy ? HealthStatus.Healthy : HealthStatus.Unhealthy,
                LoadBalancingWeight = 1,
            });
        }
        var cla = new ClusterLoadAssignment { ClusterName = ClusterName(hostname, port.Port) };
        if (locality.LbEndpoints.Count > 0)
        {
            // gRPC ignores localities without a weight.
            locality.LoadBalancingWeight = (uint)locality.LbEndpoints.Count;
            cla.Endpoints.Add(locality);
        }
        return cla;
    }

    public static IEnumerable<string> TypeUrlsBuilt => [TypeUrls.Listener, TypeUrls.RouteConfiguration, TypeUrls.Cluster, TypeUrls.ClusterLoadAssignment];
}
