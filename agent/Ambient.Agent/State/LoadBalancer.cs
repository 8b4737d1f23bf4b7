using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;

namespace Ambient.Agent.State;

public enum RouteKind
{
    /// <summary>A service VIP:port: one endpoint chosen, at its IP and target port.</summary>
    Service,

    /// <summary>A workload's own IP: that workload, at the original port.</summary>
    Workload,

    /// <summary>Unknown address (or a PASSTHROUGH service): the original destination, unchanged.</summary>
    Passthrough,

    /// <summary>A known service with no eligible endpoint: refuse the connection (ztunnel's NoHealthyUpstream).</summary>
    NoHealthyUpstream,
}

/// <summary>
/// Where a captured outbound connection goes. <see cref="Target"/> is what to reach: the endpoint's IP and target port
/// for a service, the original destination otherwise. When <see cref="Hbone"/> is true the destination is captured by
/// its node agent: tunnel to <c>Target.Address:15008</c> with <c>:authority = Target</c> (protocol-facts §f (4));
/// otherwise connect to <see cref="Target"/> in plain TCP (§f (5)).
/// </summary>
public sealed record Route(RouteKind Kind, IPEndPoint Original, IPEndPoint Target, Service? Service = null, Workload? Workload = null, string? Reason = null)
{
    public bool Hbone => Workload?.Tunnel == TunnelProtocol.Hbone;
}

/// <summary>Who is connecting, for routing preferences: the source workload's placement, or just this node's name.</summary>
public sealed record RouteSource(string Node, Locality Locality, string Network, string ClusterId)
{
    public static RouteSource Of(Workload w) => new(w.Node, w.Locality, w.Network, w.ClusterId);
}

/// <summary>
/// ztunnel's outbound destination choice (protocol-facts §f "Outbound decision", without waypoints and networks yet),
/// with round-robin over eligible endpoints. <see cref="Decide"/> is the pure part: snapshot + destination + source +
/// a pick function → route; the instance only keeps the round-robin cursors.
/// </summary>
public sealed class LoadBalancer(WorkloadStore store, string localNode = "")
{
    private readonly ConcurrentDictionary<string, StrongBox<int>> _cursors = new(StringComparer.Ordinal);

    public WorkloadStore Store => store;

    /// <summary>Routes a connection from <paramref name="source"/> (null: unknown; this node is assumed).</summary>
    public Route Resolve(IPEndPoint originalDestination, Workload? source = null) =>
        Decide(store.Current, originalDestination, source is null ? new RouteSource(localNode, Locality.Empty, "", "") : RouteSource.Of(source), Next);

    /// <summary>Routes a connection from the pod <paramref name="sourceNamespace"/>/<paramref name="sourceName"/>.</summary>
    public Route Resolve(IPEndPoint originalDestination, string sourceNamespace, string sourceName)
    {
        var snapshot = store.Current;
        var source = snapshot.FindPodWorkload(sourceNamespace, sourceName);
        return Decide(snapshot, originalDestination, source is null ? new RouteSource(localNode, Locality.Empty, "", "") : RouteSource.Of(source), Next);
    }

    /// <summary>Round-robin: each call for the same key returns the next index modulo <paramref name="count"/>.</summary>
    private int Next(string key, int count)
    {
        var cursor = _cursors.GetOrAdd(key, _ => new StrongBox<int>(-1));
        var n = Interlocked.Increment(ref cursor.Value);
        return (int)((uint)n % (uint)count);
    }

    /// <summary>
    /// The decision. Service VIP (by address, then port): PASSTHROUGH mode → original destination; a port the service
    /// lacks or no eligible endpoint → <see cref="RouteKind.NoHealthyUpstream"/>; else <paramref name="pick"/>(key,
    /// count) chooses among the eligible endpoints in uid order. A workload IP → that workload. Anything else →
    /// passthrough.
    /// </summary>
    public static Route Decide(WorkloadSnapshot snapshot, IPEndPoint originalDestination, RouteSource source, Func<string, int, int> pick)
    {
        var address = WorkloadSnapshot.Normalize(originalDestination.Address);
        var port = originalDestination.Port;
        if (snapshot.FindService(address) is { } service)
        {
            if (service.LoadBalancing.Mode == LoadBalancingMode.Passthrough)
                return new Route(RouteKind.Passthrough, originalDestination, originalDestination, service, Reason: "load_balancing mode PASSTHROUGH");
            if (service.TargetPortOf(port) is not { } serviceTarget)
                return new Route(RouteKind.NoHealthyUpstream, originalDestination, originalDestination, service, Reason: $"service {service.Key} has no port {port}");
            var eligible = Eligible(snapshot, service, port, serviceTarget, source);
            if (eligible.Count == 0)
                return new Route(RouteKind.NoHealthyUpstream, originalDestination, originalDestination, service, Reason: $"service {service.Key} has no eligible endpoint for port {port}");
            var (workload, targetPort) = eligible[pick($"{service.Key}:{port}", eligible.Count)];
            return new Route(RouteKind.Service, originalDestination, new IPEndPoint(AddressFor(workload, address), targetPort), service, workload);
        }
        if (snapshot.FindWorkload(address) is { } w)
            return new Route(RouteKind.Workload, originalDestination, originalDestination, Workload: w);
        return new Route(RouteKind.Passthrough, originalDestination, originalDestination);
    }

    /// <summary>Endpoints that may take the connection, with their target port; for STRICT/FAILOVER only the best-ranked.</summary>
    private static List<(Workload Workload, int TargetPort)> Eligible(WorkloadSnapshot snapshot, Service service, int port, int serviceTarget, RouteSource source)
    {
        var lb = service.LoadBalancing;
        var ranked = lb.Mode is LoadBalancingMode.Strict or LoadBalancingMode.Failover && lb.RoutingPreference.Length > 0;
        var best = -1;
        var result = new List<(Workload, int, int Rank)>();
        foreach (var w in snapshot.EndpointsOf(service.Key))
        {
            if (lb.HealthPolicy == HealthPolicy.OnlyHealthy && !w.IsHealthy)
                continue;
            if (w.Addresses.IsDefaultOrEmpty)
                continue; // hostname-only workloads need DNS, which the agent does not do
            if (TargetPort(w, service.Key, port, serviceTarget) is not { } target)
                continue; // e.g. a named targetPort this pod does not expose
            var rank = 0;
            if (ranked)
            {
                foreach (var scope in lb.RoutingPreference)
                {
                    if (!Matches(scope, source, w))
                        break;
                    rank++;
                }
                if (lb.Mode == LoadBalancingMode.Strict && rank != lb.RoutingPreference.Length)
                    continue;
            }
            best = Math.Max(best, rank);
            result.Add((w, target, rank));
        }
        return [.. result.Where(r => r.Rank == best).Select(r => (r.Item1, r.Item2))];
    }

    /// <summary>The workload's own mapping for the service port wins; else the service's numeric target; else none.</summary>
    private static int? TargetPort(Workload w, string serviceKey, int port, int serviceTarget)
    {
        if (w.Services.TryGetValue(serviceKey, out var ports))
        {
            foreach (var p in ports)
            {
                if (p.ServicePort == port && p.TargetPort > 0)
                    return p.TargetPort;
            }
        }
        return serviceTarget > 0 ? serviceTarget : null;
    }

    private static bool Matches(LoadBalancingScope scope, RouteSource s, Workload w) => scope switch
    {
        LoadBalancingScope.Region => s.Locality.Region == w.Locality.Region,
        LoadBalancingScope.Zone => s.Locality.Zone == w.Locality.Zone,
        LoadBalancingScope.Subzone => s.Locality.Subzone == w.Locality.Subzone,
        LoadBalancingScope.Node => s.Node == w.Node,
        LoadBalancingScope.Cluster => s.ClusterId == w.ClusterId,
        LoadBalancingScope.Network => s.Network == w.Network,
        _ => false,
    };

    /// <summary>The endpoint's address in the destination's family when it has one (dual stack), else its first.</summary>
    private static IPAddress AddressFor(Workload w, IPAddress destination)
    {
        foreach (var a in w.Addresses)
        {
            if (a.AddressFamily == destination.AddressFamily)
                return a;
        }
        return w.Addresses[0];
    }
}
