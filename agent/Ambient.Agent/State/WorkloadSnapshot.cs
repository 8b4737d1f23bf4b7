using System.Collections.Immutable;
using System.Net;

namespace Ambient.Agent.State;

/// <summary>
/// One consistent, immutable view of workloads, services and policies with the indexes the data path reads on every
/// connection. <see cref="WorkloadStore"/> replaces it atomically; readers never lock.
/// </summary>
public sealed class WorkloadSnapshot
{
    public static readonly WorkloadSnapshot Empty = new(
        0,
        ImmutableDictionary.Create<string, Workload>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, Service>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, AuthorizationPolicy>(StringComparer.Ordinal),
        ImmutableDictionary<IPAddress, ImmutableArray<string>>.Empty,
        ImmutableDictionary<IPAddress, string>.Empty,
        ImmutableDictionary.Create<string, ImmutableSortedDictionary<string, Workload>>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, string>(StringComparer.Ordinal));

    internal WorkloadSnapshot(
        long version,
        ImmutableDictionary<string, Workload> workloads,
        ImmutableDictionary<string, Service> services,
        ImmutableDictionary<string, AuthorizationPolicy> policies,
        ImmutableDictionary<IPAddress, ImmutableArray<string>> workloadsByIp,
        ImmutableDictionary<IPAddress, string> servicesByVip,
        ImmutableDictionary<string, ImmutableSortedDictionary<string, Workload>> endpoints,
        ImmutableDictionary<string, string> podWorkloads)
    {
        Version = version;
        Workloads = workloads;
        Services = services;
        Policies = policies;
        WorkloadsByIp = workloadsByIp;
        ServicesByVip = servicesByVip;
        Endpoints = endpoints;
        PodWorkloads = podWorkloads;
    }

    /// <summary>Incremented by every applied update.</summary>
    public long Version { get; }

    /// <summary>By WDS resource name (the uid).</summary>
    public ImmutableDictionary<string, Workload> Workloads { get; }

    /// <summary>By WDS resource name, <c>ns/hostname</c>.</summary>
    public ImmutableDictionary<string, Service> Services { get; }

    /// <summary>By <c>ns/name</c>.</summary>
    public ImmutableDictionary<string, AuthorizationPolicy> Policies { get; }

    /// <summary>IP → workload resource names holding it (host-network workloads share the node's IP and are not indexed).</summary>
    internal ImmutableDictionary<IPAddress, ImmutableArray<string>> WorkloadsByIp { get; }

    /// <summary>VIP → service resource name (CIDR addresses are not indexed).</summary>
    internal ImmutableDictionary<IPAddress, string> ServicesByVip { get; }

    /// <summary>Service key (<c>ns/hostname</c>) → its endpoint workloads by uid, sorted (stable round-robin order).</summary>
    public ImmutableDictionary<string, ImmutableSortedDictionary<string, Workload>> Endpoints { get; }

    /// <summary><c>ns/name</c> of a pod → its workload resource name.</summary>
    internal ImmutableDictionary<string, string> PodWorkloads { get; }

    public Workload? FindWorkload(IPAddress ip) =>
        WorkloadsByIp.TryGetValue(Normalize(ip), out var names) && names.Length > 0 && Workloads.TryGetValue(names[^1], out var w) ? w : null;

    public Service? FindService(IPAddress vip) =>
        ServicesByVip.TryGetValue(Normalize(vip), out var name) && Services.TryGetValue(name, out var s) ? s : null;

    /// <summary>The service whose VIP and port are <paramref name="vipPort"/>.</summary>
    public Service? FindService(IPEndPoint vipPort) =>
        FindService(vipPort.Address) is { } s && s.TargetPortOf(vipPort.Port) is not null ? s : null;

    /// <summary>The workload of a pod, by namespace and name.</summary>
    public Workload? FindPodWorkload(string ns, string name) =>
        PodWorkloads.TryGetValue($"{ns}/{name}", out var r) && Workloads.TryGetValue(r, out var w) ? w : null;

    /// <summary>The workloads listing <paramref name="serviceKey"/> in their <c>services</c>, in uid order.</summary>
    public IEnumerable<Workload> EndpointsOf(string serviceKey) =>
        Endpoints.TryGetValue(serviceKey, out var eps) ? eps.Values : [];

    /// <summary>IPv4-mapped IPv6 addresses (dual-stack sockets) are looked up as IPv4.</summary>
    internal static IPAddress Normalize(IPAddress ip) => ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;
}
