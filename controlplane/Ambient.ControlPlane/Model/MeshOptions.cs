namespace Ambient.ControlPlane.Model;

/// <summary>Mesh-wide settings that shape generated resources.</summary>
public sealed record MeshOptions
{
    /// <summary>SPIFFE trust domain of workload identities.</summary>
    public string TrustDomain { get; init; } = "cluster.local";

    /// <summary>DNS suffix of service hostnames: <c>name.ns.svc.&lt;suffix&gt;</c>.</summary>
    public string DomainSuffix { get; init; } = "cluster.local";

    /// <summary>Cluster id used in workload uids (<c>&lt;cluster&gt;//Pod/ns/name</c>), as istiod's default.</summary>
    public string ClusterId { get; init; } = "Kubernetes";

    /// <summary>Istio's root namespace: policies here without a selector apply mesh-wide.</summary>
    public string RootNamespace { get; init; } = "istio-system";

    public string ServiceHostname(string name, string ns) => $"{name}.{ns}.svc.{DomainSuffix}";
}
