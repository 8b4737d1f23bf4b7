using Ambient.Xds.Protos.Security;
using Ambient.Xds.Protos.Workload;
using HealthPolicy = Ambient.Xds.Protos.Workload.LoadBalancing.Types.HealthPolicy;
using LbScope = Ambient.Xds.Protos.Workload.LoadBalancing.Types.Scope;
using Mode = Ambient.Xds.Protos.Workload.LoadBalancing.Types.Mode;
using SecurityAction = Ambient.Xds.Protos.Security.Action;

namespace Ambient.ControlPlane.Tests.Golden;

/// <summary>
/// The Istio facts (protocol-facts.md §e, istiod's ambient index) each golden must keep, asserted directly so a
/// golden regenerated without review cannot bless a regression.
/// </summary>
public sealed class GoldenSemanticsTests
{
    private const string StaticStrict = "istio-system/istio_converted_static_strict";

    // ---- bookinfo-lite ----

    [Fact]
    public void Bookinfo_EchoPods_ResolveNamedHttpPortPerPodAndListTheirPolicies()
    {
        var f = Fixture.Load("bookinfo-lite");
        var v1 = f.Workload("shop", "echo-v1-7c9d8-abcde");
        var v2 = f.Workload("shop", "echo-v2-5b6f7-fghij");
        Assert.Equal(8080u, v1.PortsFor("shop", "echo")[80]);
        Assert.Equal(8081u, v2.PortsFor("shop", "echo")[80]);
        Assert.Equal(TunnelProtocol.Hbone, v1.TunnelProtocol);
        Assert.Equal(("echo-v1", WorkloadType.Deployment), (v1.WorkloadName, v1.WorkloadType));
        Assert.Equal(["shop/echo-from-web", StaticStrict], v1.AuthorizationPolicies);
        Assert.Equal(WorkloadStatus.Unhealthy, f.Workload("shop", "batch").Status);
        Assert.Equal(TunnelProtocol.None, f.Workload("shop", "batch").TunnelProtocol);
    }

    [Fact]
    public void Bookinfo_EchoFromWeb_AllowsWebPrincipalOnTargetPorts()
    {
        var p = Fixture.Load("bookinfo-lite").Policy("shop", "echo-from-web")!;
        Assert.Equal((Scope.WorkloadSelector, SecurityAction.Allow), (p.Scope, p.Action));
        var g = Assert.Single(p.Groups);
        Assert.Contains(g.Rules, c => c.Matches.Any(m => m.Principals.Any(s => s.Exact == "cluster.local/ns/shop/sa/web")));
        Assert.Contains(g.Rules, c => c.Matches.Any(m => m.DestinationPorts.SequenceEqual([8080u, 9090u])));
    }

    // ---- named targetPorts ----

    [Fact]
    public void NamedTargetPort_TwoPodsWithDifferentContainerPorts_EachResolvesItsOwn()
    {
        var f = Fixture.Load("named-target-ports");
        Assert.Equal(new Dictionary<uint, uint> { [80] = 8080, [9090] = 9100, [8443] = 8443 }, f.Workload("app", "api-a").PortsFor("app", "api"));
        Assert.Equal(new Dictionary<uint, uint> { [80] = 9080, [9090] = 9200, [8443] = 8443 }, f.Workload("app", "api-b").PortsFor("app", "api"));
        Assert.Equal([("10.244.1.1", 8080u, "Healthy"), ("10.244.2.1", 9080u, "Healthy"), ("10.244.1.2", 8081u, "Healthy")],
            f.Endpoints("app", "api", 80));
    }

    [Fact]
    public void NamedTargetPort_PodWithoutTheName_ServesOnlyTheOtherPorts()
    {
        var f = Fixture.Load("named-target-ports");
        Assert.Equal(new Dictionary<uint, uint> { [80] = 8081, [8443] = 8443 }, f.Workload("app", "api-c").PortsFor("app", "api"));
        // A UDP container port of that name does not count for a TCP service port.
        Assert.Equal(new Dictionary<uint, uint> { [8443] = 8443 }, f.Workload("app", "api-d").PortsFor("app", "api"));
        Assert.DoesNotContain(f.Endpoints("app", "api", 9090), e => e.Ip is "10.244.1.2" or "10.244.2.2");
    }

    [Fact]
    public void NamedTargetPort_Service_AdvertisesTargetPortZero()
    {
        var ports = Fixture.Load("named-target-ports").Service("app", "api").Ports.ToDictionary(p => p.ServicePort, p => p.TargetPort);
        Assert.Equal(new Dictionary<uint, uint> { [80] = 0, [9090] = 0, [8443] = 8443 }, ports);
    }

    // ---- health ----

    [Theory]
    [InlineData("web-ready", WorkloadStatus.Healthy)]
    [InlineData("web-not-ready", WorkloadStatus.Unhealthy)]
    [InlineData("web-terminating", WorkloadStatus.Unhealthy)]
    [InlineData("web-no-conditions", WorkloadStatus.Unhealthy)]
    public void PodHealth_Readiness_SetsWorkloadStatus(string pod, WorkloadStatus expected) =>
        Assert.Equal(expected, Fixture.Load("pod-health").Workload("health", pod).Status);

    [Fact]
    public void PodHealth_NotReadyPods_AreUnhealthyEndpoints()
    {
        var eps = Fixture.Load("pod-health").Endpoints("health", "web", 80).ToDictionary(e => e.Ip, e => e.Health);
        Assert.Equal(new Dictionary<string, string>
        {
            ["10.244.3.1"] = "Healthy", ["10.244.3.2"] = "Unhealthy", ["10.244.3.3"] = "Unhealthy", ["10.244.3.4"] = "Unhealthy",
        }, eps);
    }

    [Fact]
    public void PodHealth_PublishNotReadyAddresses_AllEndpointsHealthyAndAllowAll()
    {
        var f = Fixture.Load("pod-health");
        Assert.All(f.Endpoints("health", "web-all", 80), e => Assert.Equal("Healthy", e.Health));
        Assert.Equal(4, f.Endpoints("health", "web-all", 80).Count);
        Assert.Equal(HealthPolicy.AllowAll, f.Service("health", "web-all").LoadBalancing.HealthPolicy);
        Assert.Null(f.Service("health", "web").LoadBalancing);
        // The pod itself is still not ready: the workload status does not follow the service's policy.
        Assert.Equal(WorkloadStatus.Unhealthy, f.Workload("health", "web-not-ready").Status);
    }

    [Fact]
    public void UnservedPods_FinishedOrWithoutIp_AreNeitherWorkloadsNorEndpoints()
    {
        var f = Fixture.Load("unserved-pods");
        Assert.False(f.HasWorkload("jobs", "done"));
        Assert.False(f.HasWorkload("jobs", "crashed"));
        Assert.False(f.HasWorkload("jobs", "unscheduled"));
        Assert.Equal(WorkloadStatus.Unhealthy, f.Workload("jobs", "starting").Status);
        Assert.Equal(WorkloadStatus.Healthy, f.Workload("jobs", "running").Status);
        Assert.Equal(["10.244.4.5", "10.244.4.4"], f.Endpoints("jobs", "batch", 7000).Select(e => e.Ip));
    }

    // ---- load balancing, dual stack ----

    [Theory]
    [InlineData("local", Mode.Strict, new[] { LbScope.Node }, HealthPolicy.OnlyHealthy)]
    [InlineData("local-wins", Mode.Strict, new[] { LbScope.Node }, HealthPolicy.OnlyHealthy)]
    [InlineData("prefer-close", Mode.Failover, new[] { LbScope.Network, LbScope.Region, LbScope.Zone }, HealthPolicy.OnlyHealthy)]
    [InlineData("prefer-same-zone", Mode.Failover, new[] { LbScope.Network, LbScope.Region, LbScope.Zone }, HealthPolicy.OnlyHealthy)]
    [InlineData("prefer-same-node", Mode.Failover, new[] { LbScope.Network, LbScope.Region, LbScope.Zone, LbScope.Subzone, LbScope.Node }, HealthPolicy.OnlyHealthy)]
    [InlineData("close-not-ready", Mode.Failover, new[] { LbScope.Network, LbScope.Region, LbScope.Zone }, HealthPolicy.AllowAll)]
    public void LoadBalancing_ServiceSpec_MapsAsIstiod(string service, Mode mode, LbScope[] scopes, HealthPolicy health)
    {
        var lb = Fixture.Load("load-balancing").Service("lb", service).LoadBalancing;
        Assert.NotNull(lb);
        Assert.Equal((mode, health), (lb.Mode, lb.HealthPolicy));
        Assert.Equal(scopes, lb.RoutingPreference);
    }

    [Fact]
    public void LoadBalancing_ClusterPolicy_HasNone() =>
        Assert.Null(Fixture.Load("load-balancing").Service("lb", "cluster").LoadBalancing);

    [Fact]
    public void DualStack_Services_CarryEveryClusterIpAndTheirFamilies()
    {
        var f = Fixture.Load("dual-stack");
        var dual = f.Service("net", "dual");
        Assert.Equal(IPFamilies.Dual, dual.IpFamilies);
        Assert.Equal(["10.96.5.5", "fd00:10:96::5"], dual.Addresses.Select(a => new System.Net.IPAddress(a.Address.Span).ToString()));
        Assert.Equal(IPFamilies.Ipv6Only, f.Service("net", "v6-only").IpFamilies);
        Assert.Equal(IPFamilies.Ipv4Only, f.Service("net", "v4-only").IpFamilies);
        Assert.Empty(f.Service("net", "headless-dual").Addresses);
        Assert.Equal(IPFamilies.Dual, f.Service("net", "headless-dual").IpFamilies);
        Assert.Equal(["10.244.5.10", "fd00:10:244::a"],
            f.Workload("net", "net-1").Addresses.Select(a => new System.Net.IPAddress(a.Span).ToString()));
    }

    // ---- identity of the workload ----

    [Theory]
    [InlineData("reviews-v1-5f8d7c9b4-x2k9p", "reviews-v1", WorkloadType.Deployment)]
    [InlineData("standalone-rs-q7w8e", "standalone-rs", WorkloadType.Pod)]
    [InlineData("migrate-5xk2p", "migrate", WorkloadType.Job)]
    [InlineData("backup-29123456-abcde", "backup", WorkloadType.Cronjob)]
    [InlineData("db-migrate-2-ghijk", "db-migrate-2", WorkloadType.Job)]
    [InlineData("db-0", "db", WorkloadType.Pod)]
    [InlineData("node-agent-zx81m", "node-agent", WorkloadType.Pod)]
    [InlineData("bare", "bare", WorkloadType.Pod)]
    [InlineData("adopted", "adopted", WorkloadType.Pod)]
    [InlineData("renamed-6c7d8-lmnop", "billing", WorkloadType.Deployment)]
    public void Owners_ControllerReference_GivesWorkloadNameAndType(string pod, string name, WorkloadType type)
    {
        var w = Fixture.Load("owners").Workload("owners", pod);
        Assert.Equal((name, type), (w.WorkloadName, w.WorkloadType));
        Assert.Equal((name, "latest"), (w.CanonicalName, w.CanonicalRevision)); // no app labels: the workload name
    }

    [Theory]
    [InlineData("istio-labels", "ratings", "v3")]
    [InlineData("k8s-labels", "details", "2.1.0")]
    [InlineData("app-labels", "productpage", "v1")]
    [InlineData("app-only", "reviews", "latest")]
    [InlineData("name-only-istio", "mongo", "v5")]
    [InlineData("storefront-7b9c5-a1b2c", "storefront", "latest")]
    public void CanonicalLabels_Precedence_AsIstiod(string pod, string name, string revision)
    {
        var w = Fixture.Load("canonical-labels").Workload("canon", pod);
        Assert.Equal((name, revision), (w.CanonicalName, w.CanonicalRevision));
    }

    [Fact]
    public void Protocols_ServicePorts_AppProtocolAsIstiod()
    {
        var ports = Fixture.Load("protocols-and-tunnels").Service("proto", "protocols").Ports.ToDictionary(p => p.ServicePort, p => p.AppProtocol);
        Assert.Equal(new Dictionary<uint, AppProtocol>
        {
            [80] = AppProtocol.Http11, [81] = AppProtocol.Http2, [82] = AppProtocol.Http2, [83] = AppProtocol.Unknown,
            [84] = AppProtocol.Unknown, [85] = AppProtocol.Http11, [86] = AppProtocol.Grpc, [53] = AppProtocol.Unknown,
            [87] = AppProtocol.Http11,
        }, ports);
    }

    [Theory]
    [InlineData("captured", TunnelProtocol.Hbone, false)]
    [InlineData("native", TunnelProtocol.Hbone, true)]
    [InlineData("not-http-tunnel", TunnelProtocol.None, false)]
    public void Tunnels_LabelAndAnnotation_SetTunnelAndNativeTunnel(string pod, TunnelProtocol tunnel, bool native)
    {
        var w = Fixture.Load("protocols-and-tunnels").Workload("proto", pod);
        Assert.Equal((tunnel, native), (w.TunnelProtocol, w.NativeTunnel));
    }

    // ---- AuthorizationPolicy translation ----

    [Fact]
    public void AuthzPrincipals_AllForms_TranslateToStringMatches()
    {
        var p = Fixture.Load("authz-rules").Policy("bank", "principals")!;
        var matches = Assert.Single(Assert.Single(p.Groups).Rules).Matches;
        Assert.Equal(
            [
                new StringMatch { Exact = "cluster.local/ns/bank/sa/teller" },
                new StringMatch { Exact = "cluster.local/ns/bank/sa/auditor" }, // spiffe:// dropped
                new StringMatch { Prefix = "cluster.local/ns/ops/" },
                new StringMatch { Suffix = "/sa/admin" },
            ], matches[0].Principals);
        Assert.Equal([new StringMatch { Exact = "cluster.local/ns/bank/sa/intern" }], matches[0].NotPrincipals);
        Assert.Equal([new StringMatch { Presence = new() }], matches[1].Principals);
    }

    [Fact]
    public void AuthzSources_NamespacesAndIpBlocks_TranslateToMatches()
    {
        var f = Fixture.Load("authz-rules");
        var ns = Assert.Single(Assert.Single(Assert.Single(f.Policy("bank", "namespaces")!.Groups).Rules).Matches);
        Assert.Equal([new StringMatch { Exact = "bank" }, new StringMatch { Prefix = "team-" }, new StringMatch { Suffix = "-prod" }], ns.Namespaces);
        Assert.Equal([new StringMatch { Exact = "sandbox" }], ns.NotNamespaces);

        var ip = Assert.Single(Assert.Single(Assert.Single(f.Policy("bank", "ip-blocks")!.Groups).Rules).Matches);
        Assert.Equal(["10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32"], ip.SourceIps.Select(Cidr));
        Assert.Equal(["10.1.0.0/16", "fd00::1/128"], ip.NotSourceIps.Select(Cidr));
    }

    [Fact]
    public void AuthzServiceAccounts_BareName_MeansPolicyNamespace()
    {
        var m = Assert.Single(Assert.Single(Assert.Single(Fixture.Load("authz-rules").Policy("bank", "service-accounts")!.Groups).Rules).Matches);
        Assert.Equal([("bank", "teller"), ("bank", "auditor")], m.ServiceAccounts.Select(s => (s.Namespace, s.ServiceAccount)));
        Assert.Equal([("ops", "robot")], m.NotServiceAccounts.Select(s => (s.Namespace, s.ServiceAccount)));
    }

    [Fact]
    public void AuthzOperationsAndConditions_L4Fields_TranslateToMatches()
    {
        var f = Fixture.Load("authz-rules");
        var to = Assert.Single(Assert.Single(f.Policy("bank", "ports")!.Groups).Rules).Matches;
        Assert.Equal([8080u, 9090u], to[0].DestinationPorts);
        Assert.Equal([15021u], to[1].NotDestinationPorts);

        var when = Assert.Single(f.Policy("bank", "conditions")!.Groups).Rules.Select(c => Assert.Single(c.Matches)).ToList();
        Assert.Equal(5, when.Count); // one clause per condition, ANDed
        Assert.Equal(["10.0.0.0/8"], when[0].SourceIps.Select(Cidr));
        Assert.Equal(["10.0.0.1/32"], when[0].NotSourceIps.Select(Cidr));
        Assert.Equal([new StringMatch { Exact = "bank" }], when[1].Namespaces);
        Assert.Equal([new StringMatch { Exact = "cluster.local/ns/bank/sa/intern" }], when[2].NotPrincipals);
        Assert.Equal(["10.96.0.0/16"], when[3].DestinationIps.Select(Cidr));
        Assert.Equal([8080u], when[4].DestinationPorts);
        Assert.Equal([8081u], when[4].NotDestinationPorts);
    }

    [Fact]
    public void AuthzRules_EachRuleIsAGroup_EmptyRuleMatchesAll()
    {
        var f = Fixture.Load("authz-rules");
        Assert.Equal([3, 1], f.Policy("bank", "combined")!.Groups.Select(g => g.Rules.Count));
        Assert.Empty(Assert.Single(f.Policy("bank", "allow-any")!.Groups).Rules);
    }

    [Fact]
    public void AuthzScopes_RootNamespaceAndSelectors_AsIstiod()
    {
        var f = Fixture.Load("authz-actions-scopes");
        Assert.Equal((Scope.Global, SecurityAction.Deny), (f.Policy("istio-system", "mesh-deny-untrusted")!.Scope, f.Policy("istio-system", "mesh-deny-untrusted")!.Action));
        Assert.Equal(Scope.WorkloadSelector, f.Policy("istio-system", "cart-everywhere")!.Scope);
        Assert.Equal(Scope.Namespace, f.Policy("shop", "deny-from-other")!.Scope);
        Assert.Empty(f.Policy("shop", "pay-allow-nothing")!.Groups);
        Assert.True(f.Policy("shop", "cart-deny-dry-run")!.DryRun);
        Assert.False(f.Policy("shop", "cart-from-web")!.DryRun);
    }

    [Fact]
    public void AuthzSelectors_ListedOnMatchingWorkloads_RootNamespaceAcrossNamespaces()
    {
        var f = Fixture.Load("authz-actions-scopes");
        Assert.Equal(["istio-system/cart-everywhere", "shop/cart-deny-dry-run", "shop/cart-from-web"], f.Workload("shop", "cart").AuthorizationPolicies);
        Assert.Equal(["istio-system/cart-everywhere"], f.Workload("other", "cart").AuthorizationPolicies);
        Assert.Equal(["shop/pay-allow-nothing"], f.Workload("shop", "pay").AuthorizationPolicies);
    }

    [Fact]
    public void AuthzNotForNodeAgents_TargetRefsAuditCustom_NotServed()
    {
        var f = Fixture.Load("authz-actions-scopes");
        Assert.Null(f.Policy("shop", "waypoint-gateway"));
        Assert.Null(f.Policy("shop", "waypoint-service"));
        Assert.Null(f.Policy("shop", "audit-cart"));
        Assert.Null(f.Policy("other", "ext-authz"));
        Assert.Contains(f.Warnings, w => w.Contains("shop/audit-cart", StringComparison.Ordinal) && w.Contains("AUDIT", StringComparison.Ordinal));
        Assert.Contains(f.Warnings, w => w.Contains("other/ext-authz", StringComparison.Ordinal) && w.Contains("CUSTOM", StringComparison.Ordinal));
        Assert.DoesNotContain(f.Warnings, w => w.Contains("waypoint-", StringComparison.Ordinal));
    }

    [Fact]
    public void AuthzL7_AllowRulesDropped_DenyRulesKeptWithoutL7_AllWarned()
    {
        var f = Fixture.Load("authz-l7");
        var allowGet = Assert.Single(f.Policy("api", "allow-get")!.Groups); // rules[0] dropped, rules[1] kept
        Assert.Equal([new StringMatch { Exact = "api" }], Assert.Single(Assert.Single(allowGet.Rules).Matches).Namespaces);
        Assert.Empty(f.Policy("api", "allow-jwt")!.Groups);
        Assert.Empty(f.Policy("api", "allow-claims")!.Groups);

        var deleteMatch = Assert.Single(Assert.Single(Assert.Single(f.Policy("api", "deny-delete")!.Groups).Rules).Matches);
        Assert.Equal(new Match { DestinationPorts = { 8080 } }, deleteMatch);
        var remote = Assert.Single(Assert.Single(Assert.Single(f.Policy("api", "deny-remote-ip")!.Groups).Rules).Matches);
        Assert.Equal(["5.6.7.0/24"], remote.SourceIps.Select(Cidr));
        // Nothing L4 left: an empty match, which never matches (as istiod sends it).
        Assert.Equal(new Match(), Assert.Single(Assert.Single(Assert.Single(f.Policy("api", "deny-admin-path")!.Groups).Rules).Matches));
        Assert.Equal(new Match(), Assert.Single(Assert.Single(f.Policy("api", "deny-debug-header")!.Groups).Rules[1].Matches));

        foreach (var name in new[] { "allow-get", "allow-jwt", "allow-claims", "deny-delete", "deny-remote-ip", "deny-admin-path", "deny-debug-header" })
            Assert.Contains(f.Warnings, w => w.Contains($"api/{name} ", StringComparison.Ordinal));
        Assert.Contains(f.Warnings, w => w.Contains("api/deny-admin-path", StringComparison.Ordinal) && w.Contains("no effect", StringComparison.Ordinal));
        Assert.Contains(f.Warnings, w => w.Contains("api/deny-delete", StringComparison.Ordinal) && w.Contains("without them", StringComparison.Ordinal));
    }

    // ---- PeerAuthentication ----

    [Fact]
    public void PeerAuthentication_Any_ServesStaticStrictDenyPlaintext()
    {
        var p = Fixture.Load("peer-authentication").Policy("istio-system", "istio_converted_static_strict")!;
        Assert.NotNull(p);
        Assert.Equal((Scope.WorkloadSelector, SecurityAction.Deny), (p.Scope, p.Action));
        var m = Assert.Single(Assert.Single(Assert.Single(p.Groups).Rules).Matches);
        Assert.Equal(new Match { NotPrincipals = { new StringMatch { Presence = new() } } }, m);
        Assert.Null(Fixture.Load("authz-rules").Policy("istio-system", "istio_converted_static_strict"));
    }

    [Theory]
    [InlineData("strict-ns", "plain", new[] { StaticStrict })]
    [InlineData("strict-ns", "hardened", new[] { StaticStrict })]
    [InlineData("strict-ns", "metrics", new[] { "strict-ns/converted_peer_authentication_metrics-port" })]
    [InlineData("permissive-ns", "plain", new string[0])]
    [InlineData("permissive-ns", "secure", new[] { StaticStrict })]
    [InlineData("permissive-ns", "mixed", new[] { "permissive-ns/converted_peer_authentication_mixed" })]
    public void PeerAuthentication_EffectiveMode_ListedOnWorkload(string ns, string pod, string[] expected) =>
        Assert.Equal(expected, Fixture.Load("peer-authentication").Workload(ns, pod).AuthorizationPolicies);

    [Fact]
    public void PeerAuthentication_PortLevelExceptions_Converted()
    {
        var f = Fixture.Load("peer-authentication");
        // Inherited STRICT with port 9090 PERMISSIVE: deny when (port != 9090) AND (no principal).
        var metrics = Assert.Single(f.Policy("strict-ns", "converted_peer_authentication_metrics-port")!.Groups);
        Assert.Equal([new Match { NotDestinationPorts = { 9090 } }, new Match { NotPrincipals = { new StringMatch { Presence = new() } } }],
            metrics.Rules.Select(c => Assert.Single(c.Matches)));
        // PERMISSIVE with port 8443 STRICT: deny plaintext on 8443 only.
        var mixed = Assert.Single(f.Policy("permissive-ns", "converted_peer_authentication_mixed")!.Groups);
        Assert.Equal(new Match { NotPrincipals = { new StringMatch { Presence = new() } }, DestinationPorts = { 8443 } },
            Assert.Single(Assert.Single(mixed.Rules).Matches));
        Assert.Null(f.Policy("strict-ns", "converted_peer_authentication_hardened"));
    }

    private static string Cidr(Ambient.Xds.Protos.Security.Address a) => $"{new System.Net.IPAddress(a.Address_.Span)}/{a.Length}";
}
