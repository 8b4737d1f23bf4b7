using IPAddress = System.Net.IPAddress;
using Ambient.ControlPlane.Tests.Testing;
using Ambient.Xds;
using Ambient.Xds.Protos.Cluster;
using Ambient.Xds.Protos.Endpoint;
using Ambient.Xds.Protos.Hcm;
using Ambient.Xds.Protos.Listener;
using Ambient.Xds.Protos.Route;
using Ambient.Xds.Protos.Security;
using Ambient.Xds.Protos.Workload;
using CoreHealth = Ambient.Xds.Protos.Core.HealthStatus;
using WorkloadAddress = Ambient.Xds.Protos.Workload.Address;
using static Ambient.ControlPlane.Tests.Testing.BookinfoLite;

namespace Ambient.ControlPlane.Tests.Discovery;

/// <summary>First responses of both ADS flavours for the bookinfo-lite mesh: names, envelopes and decoded payloads.</summary>
public sealed class AdsInitialSubscriptionTests
{
    public static TheoryData<string> Flavours => [AdsSession.Sotw, AdsSession.Delta];

    private static async Task<AdsResponse> FirstResponseAsync(TestControlPlane cp, string flavour, string typeUrl, params string[] names)
    {
        await using var session = AdsSession.Open(cp, flavour);
        await session.SubscribeAsync(typeUrl, names);
        var response = await session.ReceiveAsync();
        Assert.Equal(typeUrl, response.TypeUrl);
        Assert.False(string.IsNullOrEmpty(response.Nonce), "response nonce is empty");
        Assert.False(string.IsNullOrEmpty(response.Version), "response version is empty");
        Assert.Empty(response.Removed);
        return response;
    }

    private static string[] ServerNames(TestControlPlane cp, string typeUrl) =>
        [.. cp.Cache.Current.Get(typeUrl).Items.Keys.Order(StringComparer.Ordinal)];

    private static byte[] Ip(string ip) => IPAddress.Parse(ip).GetAddressBytes();

    private static (uint ServicePort, uint TargetPort, AppProtocol Protocol)[] PortsOf(PortList list) =>
        [.. list.Ports.Select(p => (p.ServicePort, p.TargetPort, p.AppProtocol))];

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task WildcardAddress_InitialRequest_ReturnsEveryWorkloadAndServiceWithResolvedFields(string flavour)
    {
        await using var cp = await TestControlPlane.StartAsync(Files());

        var r = await FirstResponseAsync(cp, flavour, TypeUrls.Address);

        Assert.Equal([.. new[] { EchoService, EchoV1Uid, EchoV2Uid, WebUid, BatchUid, OldClientUid }.Order(StringComparer.Ordinal)], r.Names);

        var echoV1 = r.Get<WorkloadAddress>(EchoV1Uid).Workload;
        Assert.Equal(EchoV1, echoV1.Name);
        Assert.Equal(Shop, echoV1.Namespace);
        Assert.Equal([Ip("10.244.1.11")], echoV1.Addresses.Select(a => a.ToByteArray()));
        Assert.Equal(TunnelProtocol.Hbone, echoV1.TunnelProtocol);
        Assert.Equal(WorkloadStatus.Healthy, echoV1.Status);
        Assert.Equal("echo", echoV1.ServiceAccount);
        Assert.Equal("node-a", echoV1.Node);
        Assert.Equal([EchoService], echoV1.Services.Keys);
        // Named targetPort "http" resolves through each pod's own container ports.
        Assert.Equal([(80u, 8080u, AppProtocol.Http11), (9090u, 9090u, AppProtocol.Grpc)], PortsOf(echoV1.Services[EchoService]));
        Assert.Contains(EchoPolicy, echoV1.AuthorizationPolicies);

        var echoV2 = r.Get<WorkloadAddress>(EchoV2Uid).Workload;
        Assert.Equal([Ip("10.244.2.12")], echoV2.Addresses.Select(a => a.ToByteArray()));
        Assert.Equal([(80u, 8081u, AppProtocol.Http11), (9090u, 9090u, AppProtocol.Grpc)], PortsOf(echoV2.Services[EchoService]));

        var web = r.Get<WorkloadAddress>(WebUid).Workload;
        Assert.Equal(TunnelProtocol.Hbone, web.TunnelProtocol);
        Assert.Equal(WorkloadStatus.Healthy, web.Status);
        Assert.Empty(web.Services);
        Assert.DoesNotContain(EchoPolicy, web.AuthorizationPolicies);

        // Not Ready → UNHEALTHY; no redirection annotation → no HBONE.
        var batch = r.Get<WorkloadAddress>(BatchUid).Workload;
        Assert.Equal(WorkloadStatus.Unhealthy, batch.Status);
        Assert.Equal(TunnelProtocol.None, batch.TunnelProtocol);
        Assert.Equal([Ip("10.244.2.20")], batch.Addresses.Select(a => a.ToByteArray()));

        var oldClient = r.Get<WorkloadAddress>(OldClientUid).Workload;
        Assert.Equal("legacy", oldClient.Namespace);
        Assert.Equal(TunnelProtocol.None, oldClient.TunnelProtocol);
        Assert.Equal(WorkloadStatus.Healthy, oldClient.Status);

        var service = r.Get<WorkloadAddress>(EchoService).Service;
        Assert.Equal("echo", service.Name);
        Assert.Equal(Shop, service.Namespace);
        Assert.Equal(EchoHost, service.Hostname);
        Assert.Equal([Ip("10.96.0.20")], service.Addresses.Select(a => a.Address.ToByteArray()));
        // A named targetPort differs per pod, so the service says 0 and clients use Workload.services.
        Assert.Equal([(80u, 0u), (9090u, 9090u)], service.Ports.Select(p => (p.ServicePort, p.TargetPort)));
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task WildcardAuthorization_InitialRequest_ReturnsEveryNodeAgentPolicy(string flavour)
    {
        await using var cp = await TestControlPlane.StartAsync(Files());

        var r = await FirstResponseAsync(cp, flavour, TypeUrls.Authorization);

        // Every policy the snapshot holds (other sources of policies, e.g. PeerAuthentication, may add more), among them echo-from-web.
        Assert.Equal(ServerNames(cp, TypeUrls.Authorization), r.Names);
        Assert.Contains(EchoPolicy, r.Names);
        var policy = r.Get<Authorization>(EchoPolicy);
        Assert.Equal("echo-from-web", policy.Name);
        Assert.Equal(Shop, policy.Namespace);
        Assert.Equal(Ambient.Xds.Protos.Security.Action.Allow, policy.Action);
        Assert.Equal(Scope.WorkloadSelector, policy.Scope);
        var group = Assert.Single(policy.Groups);
        var matches = group.Rules.SelectMany(rule => rule.Matches).ToList();
        Assert.Contains(matches, m => m.Principals.Any(p => p.Exact == "cluster.local/ns/shop/sa/web"));
        Assert.Contains(matches, m => m.DestinationPorts.SequenceEqual([8080u, 9090u]));
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task WildcardListener_InitialRequest_ReturnsApiListenerPerServicePort(string flavour)
    {
        await using var cp = await TestControlPlane.StartAsync(Files());

        var r = await FirstResponseAsync(cp, flavour, TypeUrls.Listener);

        Assert.Equal([ListenerName(80), ListenerName(9090)], r.Names);
        foreach (var port in new[] { 80, 9090 })
        {
            var listener = r.Get<Listener>(ListenerName(port));
            var hcm = listener.ApiListener.ApiListener_.Unpack<HttpConnectionManager>();
            Assert.Equal(ListenerName(port), hcm.Rds.RouteConfigName);
            Assert.NotNull(hcm.Rds.ConfigSource.Ads);
            Assert.Contains(hcm.HttpFilters, f => f.TypedConfig?.TypeUrl == TypeUrls.Router);
        }
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task WildcardCluster_InitialRequest_ReturnsEdsClusterPerServicePort(string flavour)
    {
        await using var cp = await TestControlPlane.StartAsync(Files());

        var r = await FirstResponseAsync(cp, flavour, TypeUrls.Cluster);

        Assert.Equal([ClusterName(80), ClusterName(9090)], r.Names);
        foreach (var port in new[] { 80, 9090 })
        {
            var cluster = r.Get<Cluster>(ClusterName(port));
            Assert.Equal(Cluster.Types.DiscoveryType.Eds, cluster.Type);
            Assert.Equal(ClusterName(port), cluster.EdsClusterConfig.ServiceName);
            Assert.NotNull(cluster.EdsClusterConfig.EdsConfig.Ads);
        }
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task NamedRouteConfiguration_InitialRequest_ReturnsOnlyTheNamedRoute(string flavour)
    {
        await using var cp = await TestControlPlane.StartAsync(Files());

        var r = await FirstResponseAsync(cp, flavour, TypeUrls.RouteConfiguration, ListenerName(9090));

        Assert.Equal([ListenerName(9090)], r.Names);
        var vh = Assert.Single(r.Get<RouteConfiguration>(ListenerName(9090)).VirtualHosts);
        Assert.Contains(EchoHost + ":9090", vh.Domains);
        Assert.Contains("echo.shop", vh.Domains);
        Assert.Contains("10.96.0.20:9090", vh.Domains);
        var route = Assert.Single(vh.Routes);
        Assert.Equal(ClusterName(9090), route.Route_.Cluster);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task NamedClusterLoadAssignment_InitialRequest_ListsOnlyReadyPodsAsHealthyAtTargetPort(string flavour)
    {
        var files = Files();
        files["echo-canary.yaml"] = EchoCanaryFile();
        await using var cp = await TestControlPlane.StartAsync(files);

        var r = await FirstResponseAsync(cp, flavour, TypeUrls.ClusterLoadAssignment, ClusterName(80));

        Assert.Equal([ClusterName(80)], r.Names);
        var endpoints = r.Get<ClusterLoadAssignment>(ClusterName(80)).Endpoints.SelectMany(l => l.LbEndpoints)
            .Select(e => (Address: $"{e.Endpoint.Address.SocketAddress.Address}:{e.Endpoint.Address.SocketAddress.PortValue}", e.HealthStatus))
            .ToList();
        // Port 80 → named targetPort "http": 8080 on v1, 8081 on v2; the not-Ready canary is never HEALTHY.
        Assert.Equal(["10.244.1.11:8080", "10.244.2.12:8081"],
            endpoints.Where(e => e.HealthStatus == CoreHealth.Healthy).Select(e => e.Address).Order(StringComparer.Ordinal));
        Assert.All(endpoints.Where(e => e.Address.StartsWith("10.244.3.13:", StringComparison.Ordinal)),
            e => Assert.NotEqual(CoreHealth.Healthy, e.HealthStatus));
    }

    [Fact]
    public async Task SotwRouteConfiguration_RequestWithoutNames_ReturnsNoResources()
    {
        await using var cp = await TestControlPlane.StartAsync(Files());

        // RDS and EDS are not wildcard types: an empty name list asks for nothing.
        var r = await FirstResponseAsync(cp, AdsSession.Sotw, TypeUrls.RouteConfiguration);

        Assert.Empty(r.Resources);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task UnknownTypeUrl_Request_GetsEmptyResponseAndStreamKeepsWorking(string flavour)
    {
        const string unknown = "type.googleapis.com/example.v1.NotAThing";
        await using var cp = await TestControlPlane.StartAsync(Files());
        await using var session = AdsSession.Open(cp, flavour);

        await session.SubscribeAsync(unknown);
        var empty = await session.ReceiveAsync();
        Assert.Equal(unknown, empty.TypeUrl);
        Assert.Empty(empty.Resources);
        Assert.Empty(empty.Removed);
        Assert.False(string.IsNullOrEmpty(empty.Nonce));

        await session.AckAsync(empty);
        await session.SubscribeAsync(TypeUrls.Cluster);
        var clusters = await session.ReceiveAsync();
        Assert.Equal(TypeUrls.Cluster, clusters.TypeUrl);
        Assert.Equal([ClusterName(80), ClusterName(9090)], clusters.Names);
    }
}
