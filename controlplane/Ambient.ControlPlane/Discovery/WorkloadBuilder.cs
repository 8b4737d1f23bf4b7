using System.Collections.Immutable;
using Ambient.ControlPlane.Model;
using Ambient.Xds.Protos.Workload;
using Google.Protobuf;

namespace Ambient.ControlPlane.Discovery;

/// <summary>Pod → <c>istio.workload.Workload</c>, following istiod's conventions for each field.</summary>
internal static class WorkloadBuilder
{
    public const string CanonicalNameLabel = "service.istio.io/canonical-name";
    public const string CanonicalRevisionLabel = "service.istio.io/canonical-revision";

    public static string Uid(MeshOptions mesh, PodObject pod) => $"{mesh.ClusterId}//Pod/{pod.Meta.Namespace}/{pod.Meta.Name}";

    public static Workload Build(MeshOptions mesh, PodObject pod, NamespaceObject? ns,
        IReadOnlyList<ServiceObject> servicesInNamespace, IReadOnlyList<string> policyNames)
    {
        var (workloadName, workloadType) = NameAndType(pod);
        var w = new Workload
        {
            Uid = Uid(mesh, pod),
            Name = pod.Meta.Name,
            Namespace = pod.Meta.Namespace,
            ServiceAccount = pod.ServiceAccount,
            Node = pod.NodeName,
            TunnelProtocol = TunnelFor(pod),
            CanonicalName = CanonicalName(pod, workloadName),
            CanonicalRevision = CanonicalRevision(pod),
            WorkloadType = workloadType,
            WorkloadName = workloadName,
            Status = pod.Ready ? WorkloadStatus.Healthy : WorkloadStatus.Unhealthy,
            ClusterId = mesh.ClusterId,
            NetworkMode = pod.HostNetwork ? NetworkMode.HostNetwork : NetworkMode.Standard,
        };
        // istiod omits the default trust domain; clients fill it in.
        if (mesh.TrustDomain != "cluster.local")
            w.TrustDomain = mesh.TrustDomain;
        foreach (var ip in pod.PodIPs)
            w.Addresses.Add(ByteString.CopyFrom(ip.GetAddressBytes()));

        foreach (var svc in servicesInNamespace)
        {
            if (svc.Selector is null || !Selectors.Matches(svc.Selector, pod.Meta.Labels))
                continue;
            var ports = new PortList();
            foreach (var p in svc.Ports)
            {
                var target = ResolveTargetPort(p, pod);
                if (target is null)
                    continue; // a named targetPort this pod does not expose: not served by this pod
                ports.Ports.Add(new Port { ServicePort = (uint)p.Port, TargetPort = (uint)target.Value, AppProtocol = AppProtocolOf(p) });
            }
            w.Services[$"{svc.Meta.Namespace}/{mesh.ServiceHostname(svc.Meta.Name, svc.Meta.Namespace)}"] = ports;
        }
        w.AuthorizationPolicies.AddRange(policyNames);
        _ = ns; // enrolment is decided by the node agent and CNI; the namespace shapes nothing else here yet
        return w;
    }

    /// <summary>HBONE only once the node agent has really captured the pod (Istio's redirection annotation).</summary>
    public static TunnelProtocol TunnelFor(PodObject pod)
    {
        if (pod.Meta.Annotations.TryGetValue(Selectors.RedirectionAnnotation, out var r) && r == "enabled")
            return TunnelProtocol.Hbone;
        if (pod.Meta.Labels.TryGetValue("networking.istio.io/tunnel", out var t) && t.Contains("http", StringComparison.Ordinal))
            return TunnelProtocol.Hbone;
        return TunnelProtocol.None;
    }

    /// <summary>A numeric targetPort as is; a named one through the pod's container ports; null if the pod lacks it.</summary>
    public static int? ResolveTargetPort(ServicePort port, PodObject pod)
    {
        if (!port.TargetPort.IsNamed)
            return port.TargetPort.Number;
        foreach (var cp in pod.ContainerPorts)
        {
            if (cp.Name == port.TargetPort.Name && cp.Protocol == port.Protocol)
                return cp.Port;
        }
        return null;
    }

    public static AppProtocol AppProtocolOf(ServicePort p)
    {
        var proto = p.AppProtocol ?? p.Name?.Split('-')[0] ?? "";
        return proto.ToLowerInvariant() switch
        {
            "http" => AppProtocol.Http11,
            "http2" or "h2c" or "kubernetes.io/h2c" => AppProtocol.Http2,
            "grpc" => AppProtocol.Grpc,
            _ => AppProtocol.Unknown,
        };
    }

    private static string CanonicalName(PodObject pod, string workloadName) =>
        First(pod.Meta.Labels, CanonicalNameLabel, "app.kubernetes.io/name", "app") ?? workloadName;

    private static string CanonicalRevision(PodObject pod) =>
        First(pod.Meta.Labels, CanonicalRevisionLabel, "app.kubernetes.io/version", "version") ?? "latest";

    private static string? First(ImmutableDictionary<string, string> labels, params string[] keys)
    {
        foreach (var k in keys)
        {
            if (labels.TryGetValue(k, out var v) && v.Length > 0)
                return v;
        }
        return null;
    }

    /// <summary>
    /// The owning workload as istiod derives it: a ReplicaSet named <c>&lt;deploy&gt;-&lt;pod-template-hash&gt;</c>
    /// means a Deployment; a Job named <c>&lt;cronjob&gt;-&lt;digits&gt;</c> means a CronJob.
    /// </summary>
    public static (string Name, WorkloadType Type) NameAndType(PodObject pod)
    {
        var owner = pod.Meta.Owners.IsDefaultOrEmpty ? null : pod.Meta.Owners.FirstOrDefault(o => o.Controller) ?? pod.Meta.Owners[0];
        if (owner is null)
            return (pod.Meta.Name, WorkloadType.Pod);
        switch (owner.Kind)
        {
            case "ReplicaSet":
                var hash = pod.Meta.Label("pod-template-hash");
                if (hash.Length > 0 && owner.Name.EndsWith("-" + hash, StringComparison.Ordinal))
                    return (owner.Name[..^(hash.Length + 1)], WorkloadType.Deployment);
                return (owner.Name, WorkloadType.Deployment);
            case "Job":
                var dash = owner.Name.LastIndexOf('-');
                if (dash > 0 && owner.Name[(dash + 1)..].All(char.IsAsciiDigit))
                    return (owner.Name[..dash], WorkloadType.Cronjob);
                return (owner.Name, WorkloadType.Job);
            case "Deployment":
                return (owner.Name, WorkloadType.Deployment);
            default:
                return (owner.Name, WorkloadType.Pod);
        }
    }
}
