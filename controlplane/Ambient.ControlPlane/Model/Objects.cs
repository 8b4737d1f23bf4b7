using System.Collections.Immutable;
using System.Net;

namespace Ambient.ControlPlane.Model;

public sealed record NamespaceObject(ObjectMeta Meta) : KubeObject(Meta)
{
    public override string Kind => "Namespace";
}

public sealed record ServiceAccountObject(ObjectMeta Meta) : KubeObject(Meta)
{
    public override string Kind => "ServiceAccount";
}

public sealed record ContainerPort(string? Name, int Port, string Protocol);

public sealed record PodObject(
    ObjectMeta Meta,
    string NodeName,
    string ServiceAccount,
    ImmutableArray<IPAddress> PodIPs,
    bool Ready,
    string Phase,
    bool HostNetwork,
    ImmutableArray<ContainerPort> ContainerPorts) : KubeObject(Meta)
{
    public override string Kind => "Pod";

    /// <summary>Whether the pod is running to completion or gone; such pods are not served.</summary>
    public bool Finished => Phase is "Succeeded" or "Failed";
}

/// <summary>A Service's targetPort: a number or the name of a container port, resolved per pod.</summary>
public readonly record struct TargetPort(int Number, string? Name)
{
    public bool IsNamed => Name is not null;
    public override string ToString() => Name ?? Number.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

public sealed record ServicePort(string? Name, int Port, TargetPort TargetPort, string Protocol, string? AppProtocol);

public sealed record ServiceObject(
    ObjectMeta Meta,
    ImmutableDictionary<string, string>? Selector,
    ImmutableArray<IPAddress> ClusterIPs,
    ImmutableArray<ServicePort> Ports,
    string? InternalTrafficPolicy,
    string? TrafficDistribution,
    bool PublishNotReadyAddresses,
    ImmutableArray<string> IpFamilies) : KubeObject(Meta)
{
    public override string Kind => "Service";
}

/// <summary>
/// <c>ambient.dev/v1alpha1 PodAnnotations</c>: annotations to lay over the pod of the same namespace/name. Our node
/// agent writes these in local (file) mode as its redirection feedback (<c>ambient.istio.io/redirection: enabled</c>),
/// where in Kubernetes it would patch the pod itself. <see cref="ClusterState"/> applies them; nothing else reads them.
/// </summary>
public sealed record PodAnnotationsObject(ObjectMeta Meta) : KubeObject(Meta)
{
    public const string ApiGroup = "ambient.dev";
    public override string Kind => "PodAnnotations";
}
