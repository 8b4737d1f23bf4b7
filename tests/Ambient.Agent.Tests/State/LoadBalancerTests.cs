using System.Net;
using Ambient.Agent.InPod;
using Ambient.Agent.State;
using Mode = Ambient.Xds.Protos.Workload.LoadBalancing.Types.Mode;
using ProtoHealth = Ambient.Xds.Protos.Workload.LoadBalancing.Types.HealthPolicy;
using ProtoLocality = Ambient.Xds.Protos.Workload.Locality;
using Scope = Ambient.Xds.Protos.Workload.LoadBalancing.Types.Scope;

namespace Ambient.Agent.Tests.State;

/// <summary>
/// The outbound decision as a table: one mesh, many (destination, source) rows, each with the route kind and the full
/// set of targets round-robin may choose (protocol-facts §f, ztunnel's load_balance).
/// </summary>
public sealed class LoadBalancerTests
{
    private const string Ns = "shop";

    private static readonly WorkloadStore Mesh = BuildMesh();

    private static WorkloadStore BuildMesh()
    {
        ProtoLocality Loc(string region, string zone) => new() { Region = region, Zone = zone };
        var allowAll = new Ambient.Xds.Protos.Workload.LoadBalancing { HealthPolicy = ProtoHealth.AllowAll };
        return Wds.Store(
            // web: standard, 80→8080; web-3 is not ready.
            Wds.Res(Wds.Service(Ns, "web", "10.96.0.10", null, (80, 8080))),
            Wds.Res(Wds.Workload(Ns, "web-1", "10.244.1.1", "node-a", hbone: true, services: (Wds.Key(Ns, "web"), 80, 8080))),
            Wds.Res(Wds.Workload(Ns, "web-2", "10.244.2.1", "node-b", services: (Wds.Key(Ns, "web"), 80, 8080))),
            Wds.Res(Wds.Workload(Ns, "web-3", "10.244.1.3", "node-a", healthy: false, services: (Wds.Key(Ns, "web"), 80, 8080))),
            // local: internalTrafficPolicy Local → [NODE] STRICT, one endpoint on node-b.
            Wds.Res(Wds.Service(Ns, "local", "10.96.0.11", Wds.Lb(Mode.Strict, Scope.Node), (80, 8080))),
            Wds.Res(Wds.Workload(Ns, "local-b", "10.244.2.2", "node-b", services: (Wds.Key(Ns, "local"), 80, 8080))),
            // zonal: PreferClose → [NETWORK, REGION, ZONE] FAILOVER.
            Wds.Res(Wds.Service(Ns, "zonal", "10.96.0.12", Wds.Lb(Mode.Failover, Scope.Network, Scope.Region, Scope.Zone), (80, 8080))),
            Wds.Res(Wds.Workload(Ns, "z-same", "10.244.3.1", "node-c", locality: Loc("r1", "z1"), services: (Wds.Key(Ns, "zonal"), 80, 8080))),
            Wds.Res(Wds.Workload(Ns, "z-region", "10.244.3.2", "node-d", locality: Loc("r1", "z2"), services: (Wds.Key(Ns, "zonal"), 80, 8080))),
            Wds.Res(Wds.Workload(Ns, "z-far", "10.244.3.3", "node-e", locality: Loc("r2", "z9"), services: (Wds.Key(Ns, "zonal"), 80, 8080))),
            // standard-with-preferences: UNSPECIFIED mode ignores routing preferences.
            Wds.Res(Wds.Service(Ns, "anyzone", "10.96.0.17", Wds.Lb(Mode.UnspecifiedMode, Scope.Zone), (80, 8080))),
            Wds.Res(Wds.Workload(Ns, "any-1", "10.244.7.1", "node-c", locality: Loc("r1", "z1"), services: (Wds.Key(Ns, "anyzone"), 80, 8080))),
            Wds.Res(Wds.Workload(Ns, "any-2", "10.244.7.2", "node-d", locality: Loc("r2", "z2"), services: (Wds.Key(Ns, "anyzone"), 80, 8080))),
            // publishNotReadyAddresses → ALLOW_ALL: the not-ready endpoint still serves.
            Wds.Res(Wds.Service(Ns, "notready", "10.96.0.13", allowAll, (80, 8080))),
            Wds.Res(Wds.Workload(Ns, "nr-1", "10.244.4.1", healthy: false, services: (Wds.Key(Ns, "notready"), 80, 8080))),
            // down: its only endpoint is not ready.
            Wds.Res(Wds.Service(Ns, "down", "10.96.0.14", null, (80, 8080))),
            Wds.Res(Wds.Workload(Ns, "down-1", "10.244.4.2", healthy: false, services: (Wds.Key(Ns, "down"), 80, 8080))),
            // pass: PASSTHROUGH mode never selects an endpoint.
            Wds.Res(Wds.Service(Ns, "pass", "10.96.0.15", Wds.Lb(Mode.Passthrough), (80, 8080))),
            Wds.Res(Wds.Workload(Ns, "pass-1", "10.244.4.3", services: (Wds.Key(Ns, "pass"), 80, 8080))),
            // named: targetPort by name (service target 0); named-2 does not expose it.
            Wds.Res(Wds.Service(Ns, "named", "10.96.0.16", null, (80, 0), (9090, 9090))),
            Wds.Res(Wds.Workload(Ns, "named-1", "10.244.5.1", services: [(Wds.Key(Ns, "named"), 80, 8081), (Wds.Key(Ns, "named"), 9090, 9090)])),
            Wds.Res(Wds.Workload(Ns, "named-2", "10.244.5.2", services: (Wds.Key(Ns, "named"), 9090, 9090))),
            // empty: a service nobody backs.
            Wds.Res(Wds.Service(Ns, "empty", "10.96.0.18", null, (80, 8080))),
            // dual: dual-stack service and endpoint.
            Wds.Res(Wds.Service(Ns, "dual", "fd00::18", null, (80, 8080))),
            Wds.Res(Wds.Workload(Ns, "dual-1", "10.244.6.1,fd00:244::61", services: (Wds.Key(Ns, "dual"), 80, 8080))),
            // A host-network workload: its IP is the node's, never a workload destination.
            Wds.Res(HostNetwork()));
    }

    private static Ambient.Xds.Protos.Workload.Workload HostNetwork()
    {
        var w = Wds.Workload(Ns, "hostnet", "192.168.1.10");
        w.NetworkMode = Ambient.Xds.Protos.Workload.NetworkMode.HostNetwork;
        return w;
    }

    public static TheoryData<string, string, string, string> Table => new()
    {
        // destination, source "node/region/zone", expected kind, expected targets (|-separated; "=" means the original)
        { "10.96.0.10:80", "node-a//", "Service", "10.244.1.1:8080|10.244.2.1:8080" },          // healthy only, round-robin
        { "10.96.0.10:81", "node-a//", "NoHealthyUpstream", "=" },                              // VIP known, port not
        { "10.96.0.11:80", "node-a//", "NoHealthyUpstream", "=" },                              // STRICT NODE, none here
        { "10.96.0.11:80", "node-b//", "Service", "10.244.2.2:8080" },                          // STRICT NODE, same node
        { "10.96.0.12:80", "node-x/r1/z1", "Service", "10.244.3.1:8080" },                      // FAILOVER: same zone wins
        { "10.96.0.12:80", "node-x/r1/z7", "Service", "10.244.3.1:8080|10.244.3.2:8080" },      // …else same region
        { "10.96.0.12:80", "node-x/r3/z1", "Service", "10.244.3.1:8080|10.244.3.2:8080|10.244.3.3:8080" }, // …else any
        { "10.96.0.17:80", "node-x/r1/z1", "Service", "10.244.7.1:8080|10.244.7.2:8080" },      // UNSPECIFIED ignores scopes
        { "10.96.0.13:80", "node-a//", "Service", "10.244.4.1:8080" },                          // ALLOW_ALL includes not-ready
        { "10.96.0.14:80", "node-a//", "NoHealthyUpstream", "=" },                              // only a not-ready endpoint
        { "10.96.0.15:80", "node-a//", "Passthrough", "=" },                                    // PASSTHROUGH
        { "10.96.0.16:80", "node-a//", "Service", "10.244.5.1:8081" },                          // per-pod named target port
        { "10.96.0.16:9090", "node-a//", "Service", "10.244.5.1:9090|10.244.5.2:9090" },
        { "10.96.0.18:80", "node-a//", "NoHealthyUpstream", "=" },                              // no endpoints at all
        { "[fd00::18]:80", "node-a//", "Service", "[fd00:244::61]:8080" },                      // same family as the VIP
        { "[::ffff:10.96.0.10]:80", "node-a//", "Service", "10.244.1.1:8080|10.244.2.1:8080" }, // v4-mapped from a dual-stack socket
        { "10.244.1.1:9999", "node-a//", "Workload", "=" },                                     // a pod IP: direct
        { "10.244.1.3:8080", "node-a//", "Workload", "=" },                                     // …even a not-ready one
        { "192.168.1.10:22", "node-a//", "Passthrough", "=" },                                  // host network: not indexed
        { "1.2.3.4:443", "node-a//", "Passthrough", "=" },                                      // outside the mesh
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void LoadBalancer_Decide_RouteKindAndEveryPossibleTarget(string destination, string source, string kind, string targets)
    {
        var dst = IPEndPoint.Parse(destination);
        var parts = source.Split('/');
        var from = new RouteSource(parts[0], new Locality(parts[1], parts[2], ""), "", Wds.Cluster);
        var count = 0;
        var first = LoadBalancer.Decide(Mesh.Current, dst, from, (_, n) =>
        {
            count = n;
            return 0;
        });

        Assert.Equal(kind, first.Kind.ToString());
        var chosen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Math.Max(count, 1); i++)
        {
            var pick = i;
            chosen.Add(LoadBalancer.Decide(Mesh.Current, dst, from, (_, _) => pick).Target.ToString());
        }
        var expected = targets == "=" ? [dst.ToString()] : targets.Split('|');
        Assert.Equal(expected.Order(StringComparer.Ordinal), chosen.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void LoadBalancer_Resolve_RoundRobinsAcrossCallsAndMapsServicePortToTargetPort()
    {
        var lb = new LoadBalancer(Mesh, "node-a");
        var dst = IPEndPoint.Parse("10.96.0.10:80");

        var picks = Enumerable.Range(0, 6).Select(_ => lb.Resolve(dst).Target.ToString()).ToList();

        Assert.Equal(["10.244.1.1:8080", "10.244.2.1:8080", "10.244.1.1:8080", "10.244.2.1:8080", "10.244.1.1:8080", "10.244.2.1:8080"], picks);
    }

    [Fact]
    public void LoadBalancer_Resolve_ReportsWhetherTheChosenDestinationIsCapturedForHbone()
    {
        var web1 = LoadBalancer.Decide(Mesh.Current, IPEndPoint.Parse("10.96.0.10:80"), new RouteSource("node-a", Locality.Empty, "", ""), (_, _) => 0);
        var web2 = LoadBalancer.Decide(Mesh.Current, IPEndPoint.Parse("10.96.0.10:80"), new RouteSource("node-a", Locality.Empty, "", ""), (_, _) => 1);
        var direct = new LoadBalancer(Mesh).Resolve(IPEndPoint.Parse("10.244.1.1:8080"));
        var outside = new LoadBalancer(Mesh).Resolve(IPEndPoint.Parse("1.2.3.4:80"));

        Assert.Equal(("web-1", true), (web1.Workload!.Name, web1.Hbone));
        Assert.Equal(("web-2", false), (web2.Workload!.Name, web2.Hbone));
        Assert.True(direct.Hbone);
        Assert.False(outside.Hbone);
        Assert.Equal(Wds.Hostname(Ns, "web"), web1.Service!.Hostname);
    }

    [Fact]
    public void LoadBalancer_SourcePodKnown_UsesItsNodeForStrictNodeServices()
    {
        var store = Wds.Store(
            Wds.Res(Wds.Service(Ns, "local", "10.96.0.11", Wds.Lb(Mode.Strict, Scope.Node), (80, 8080))),
            Wds.Res(Wds.Workload(Ns, "local-b", "10.244.2.2", "node-b", services: (Wds.Key(Ns, "local"), 80, 8080))),
            Wds.Res(Wds.Workload(Ns, "client-b", "10.244.2.9", "node-b")));
        var lb = new LoadBalancer(store, "node-a"); // the agent's own node differs: the source pod's placement counts

        Assert.Equal(RouteKind.Service, lb.Resolve(IPEndPoint.Parse("10.96.0.11:80"), Ns, "client-b").Kind);
        Assert.Equal(RouteKind.NoHealthyUpstream, lb.Resolve(IPEndPoint.Parse("10.96.0.11:80"), Ns, "unknown-pod").Kind);
    }

    [Fact]
    public void DestinationResolverAdapter_Routes_MapToTheDataPathsResolvedDestination()
    {
        var resolver = new DestinationResolverAdapter(new LoadBalancer(Mesh, "node-a"));
        var source = new PodRef(Ns, "client");

        var service = resolver.Resolve(IPEndPoint.Parse("10.96.0.13:80"), source);
        var workload = resolver.Resolve(IPEndPoint.Parse("10.244.2.1:8080"), source);
        var none = resolver.Resolve(IPEndPoint.Parse("10.96.0.14:80"), source);
        var outside = resolver.Resolve(IPEndPoint.Parse("1.2.3.4:80"), source);

        Assert.Equal(new ResolvedDestination(DestinationKind.Service, IPEndPoint.Parse("10.244.4.1:8080"), Wds.Hostname(Ns, "notready"), "nr-1", Ns), service);
        Assert.Equal(new ResolvedDestination(DestinationKind.Workload, IPEndPoint.Parse("10.244.2.1:8080"), null, "web-2", Ns), workload);
        Assert.Equal(DestinationKind.NoHealthyEndpoint, none.Kind);
        Assert.Equal(Wds.Hostname(Ns, "down"), none.ServiceHostname);
        Assert.Equal(ResolvedDestination.Passthrough(IPEndPoint.Parse("1.2.3.4:80")), outside);
        Assert.Equal(new WorkloadInfo("web-1", Ns, "default"), resolver.FindWorkload(IPAddress.Parse("10.244.1.1")));
        Assert.Null(resolver.FindWorkload(IPAddress.Parse("1.2.3.4")));
    }
}
