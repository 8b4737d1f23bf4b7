using System.Collections.Immutable;
using System.Net;

namespace Ambient.Agent.State;

// The agent's view of the mesh, as immutable records converted from the WDS protos at the edge (WdsConversion).
// Nothing past the edge sees a protobuf message: they are mutable and their defaults hide "absent".

public enum TunnelProtocol
{
    /// <summary>Plain TCP to the workload.</summary>
    None,

    /// <summary>The workload is captured by a node agent: HBONE (mTLS HTTP/2 CONNECT) to its IP:15008.</summary>
    Hbone,

    LegacyIstioMtls,
}

public enum WorkloadHealth
{
    Healthy,
    Unhealthy,
}

public sealed record Locality(string Region, string Zone, string Subzone)
{
    public static readonly Locality Empty = new("", "", "");
}

/// <summary>A service port and the port it maps to on a workload (0: unknown, use the service's or skip).</summary>
public sealed record PortMapping(int ServicePort, int TargetPort);

/// <summary>One WDS workload (a pod, or a WorkloadEntry).</summary>
public sealed record Workload
{
    /// <summary><c>&lt;cluster&gt;//Pod/&lt;ns&gt;/&lt;name&gt;</c> for pods.</summary>
    public required string Uid { get; init; }
    public required string Name { get; init; }
    public required string Namespace { get; init; }
    public ImmutableArray<IPAddress> Addresses { get; init; } = [];
    public string Network { get; init; } = "";
    public string Node { get; init; } = "";

    /// <summary>Never empty: WDS elides <c>default</c>.</summary>
    public string ServiceAccount { get; init; } = "default";

    /// <summary>Never empty: WDS elides <c>cluster.local</c>.</summary>
    public string TrustDomain { get; init; } = "cluster.local";
    public TunnelProtocol Tunnel { get; init; }
    public WorkloadHealth Status { get; init; }
    public bool HostNetwork { get; init; }

    /// <summary>Services this workload is an endpoint of: <c>ns/hostname</c> → its port mappings.</summary>
    public ImmutableDictionary<string, ImmutableArray<PortMapping>> Services { get; init; } =
        ImmutableDictionary<string, ImmutableArray<PortMapping>>.Empty.WithComparers(StringComparer.Ordinal);

    /// <summary>Selector policies (<c>ns/name</c>) that apply to this workload.</summary>
    public ImmutableArray<string> AuthorizationPolicies { get; init; } = [];
    public string ClusterId { get; init; } = "";
    public Locality Locality { get; init; } = Locality.Empty;
    public string CanonicalName { get; init; } = "";
    public string CanonicalRevision { get; init; } = "";
    public string WorkloadName { get; init; } = "";

    /// <summary>deployment, cronjob, pod or job (for the baggage header).</summary>
    public string WorkloadType { get; init; } = "pod";

    public bool IsHealthy => Status == WorkloadHealth.Healthy;

    /// <summary>The SPIFFE identity its certificate carries.</summary>
    public string Identity => $"spiffe://{TrustDomain}/ns/{Namespace}/sa/{ServiceAccount}";
}

public enum LoadBalancingScope
{
    Region,
    Zone,
    Subzone,
    Node,
    Cluster,
    Network,
}

public enum LoadBalancingMode
{
    /// <summary>UNSPECIFIED: routing preferences are ignored (ztunnel's "standard").</summary>
    Standard,

    /// <summary>Only endpoints matching every preferred scope.</summary>
    Strict,

    /// <summary>Prefer endpoints matching the longest prefix of the preferred scopes.</summary>
    Failover,

    /// <summary>No endpoint selection: connect to the original destination.</summary>
    Passthrough,
}

public enum HealthPolicy
{
    OnlyHealthy,
    AllowAll,
}

public sealed record LoadBalancingPolicy(ImmutableArray<LoadBalancingScope> RoutingPreference, LoadBalancingMode Mode, HealthPolicy HealthPolicy)
{
    public static readonly LoadBalancingPolicy Default = new([], LoadBalancingMode.Standard, HealthPolicy.OnlyHealthy);
}

/// <summary>A service address: a VIP, or a CIDR when <see cref="PrefixLength"/> is set.</summary>
public sealed record ServiceAddress(string Network, IPAddress Address, int? PrefixLength);

/// <summary>One WDS service. Endpoints are not listed here: they are the workloads whose <c>Services</c> name it.</summary>
public sealed record Service
{
    public required string Name { get; init; }
    public required string Namespace { get; init; }
    public required string Hostname { get; init; }
    public ImmutableArray<ServiceAddress> Addresses { get; init; } = [];
    public ImmutableArray<PortMapping> Ports { get; init; } = [];
    public ImmutableArray<string> SubjectAltNames { get; init; } = [];
    public LoadBalancingPolicy LoadBalancing { get; init; } = LoadBalancingPolicy.Default;

    /// <summary><c>ns/hostname</c>: the WDS resource name and the key workloads use in <c>services</c>.</summary>
    public string Key => $"{Namespace}/{Hostname}";

    /// <summary>The target port of <paramref name="servicePort"/> (0 when the service leaves it to workloads), or null.</summary>
    public int? TargetPortOf(int servicePort)
    {
        foreach (var p in Ports)
        {
            if (p.ServicePort == servicePort)
                return p.TargetPort;
        }
        return null;
    }
}

public enum PolicyScope
{
    Global,
    Namespace,
    WorkloadSelector,
}

public enum PolicyAction
{
    Allow,
    Deny,
}

/// <summary>
/// An L4 authorization policy, kept for the enforcement work: the header fields as records, the rules as the
/// (cloned, never mutated) proto.
/// </summary>
public sealed record AuthorizationPolicy(string Name, string Namespace, PolicyScope Scope, PolicyAction Action, bool DryRun,
    Ambient.Xds.Protos.Security.Authorization Rules)
{
    public string Key => $"{Namespace}/{Name}";
}

/// <summary>What the control plane says about one pod's capture (Ambient's PodEnrollment type).</summary>
public sealed record PodEnrollmentInfo(string Namespace, string Name, string Uid, string Node, bool Enrolled, string ServiceAccount,
    ImmutableArray<IPAddress> Addresses)
{
    public string Key => $"{Namespace}/{Name}";
}
