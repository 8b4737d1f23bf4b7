using System.Collections.Immutable;

namespace Ambient.ControlPlane.Sources.Kubernetes;

/// <summary>One kind the source lists and watches cluster-wide, and where the API server serves it.</summary>
internal sealed record KubernetesResource(string Kind, string Group, string Version, string Plural, bool ClusterScoped, bool IsCustomResource)
{
    /// <summary>The kinds the mesh reads: core/v1 workloads and Istio's security CRDs.</summary>
    public static readonly ImmutableArray<KubernetesResource> All =
    [
        new("Namespace", "", "v1", "namespaces", ClusterScoped: true, IsCustomResource: false),
        new("Pod", "", "v1", "pods", ClusterScoped: false, IsCustomResource: false),
        new("Service", "", "v1", "services", ClusterScoped: false, IsCustomResource: false),
        new("ServiceAccount", "", "v1", "serviceaccounts", ClusterScoped: false, IsCustomResource: false),
        new("AuthorizationPolicy", "security.istio.io", "v1", "authorizationpolicies", ClusterScoped: false, IsCustomResource: true),
        new("PeerAuthentication", "security.istio.io", "v1", "peerauthentications", ClusterScoped: false, IsCustomResource: true),
    ];

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The cluster-wide collection, relative to the server's base address.</summary>
    public string Path => Group.Length == 0 ? $"api/{Version}/{Plural}" : $"apis/{Group}/{Version}/{Plural}";

    /// <summary>The <see cref="ConfigStore"/> origin this kind's objects live under.</summary>
    public string Origin => "k8s:" + Kind;

    public override string ToString() => $"{Kind}.{ApiVersion}";
}
