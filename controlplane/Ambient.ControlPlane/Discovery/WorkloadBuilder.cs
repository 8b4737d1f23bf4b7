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
            NativeTunnel = SupportsHttpTunnel(pod),
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
        if (SupportsHttpTunnel(pod))
            return TunnelProtocol.Hbone;
        return TunnelProtocol.None;
    }

    /// <summary>
    /// The pod terminates HBONE itself (label <c>networking.istio.io/tunnel</c>, a comma-separated list holding
    /// <c>http</c>): istiod's setTunnelProtocol then also sets <c>native_tunnel</c>. Matching a list entry, not a
    /// substring, and setting native_tunnel are both fixes.
    /// </summary>
    public static bool SupportsHttpTunnel(PodObject pod) =>
        pod.Meta.Labels.TryGetValue("networking.istio.io/tunnel", out var t) && t.Split(',').Contains("http", StringComparer.Ordinal);

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

    /// <summary>
    /// istiod's toAppProtocolFromKube (kube.ConvertProtocol, then protocol.Parse): UDP/SCTP ports are not HTTP;
    /// appProtocol wins over the port name; Kubernetes' <c>kubernetes.io/h2c</c> and <c>kubernetes.io/ws</c> are
    /// HTTP/2 and HTTP; <c>grpc-web…</c> is not gRPC; otherwise the part before the first '-', case-insensitively.
    /// (This used to call "grpc-web" gRPC, "h2c" HTTP/2 and UDP ports by their name.)
    /// </summary>
    public static AppProtocol AppProtocolOf(ServicePort p)
    {
        if (p.Protocol != "TCP")
            return AppProtocol.Unknown;
        var name = p.AppProtocol ?? p.Name ?? "";
        switch (name)
        {
            case "kubernetes.io/h2c":
                return AppProtocol.Http2;
            case "kubernetes.io/ws":
                return AppProtocol.Http11;
        }
        if (name.StartsWith("grpc-web", StringComparison.OrdinalIgnoreCase))
            return AppProtocol.Unknown;
        var dash = name.IndexOf('-');
        return (dash < 0 ? name : name[..dash]).ToLowerInvariant() switch
        {
            "http" => AppProtocol.Http11,
            "http2" => AppProtocol.Http2,
            "grpc" => AppProtocol.Grpc,
            _ => AppProtocol.Unknown,
        };
    }

    private static string CanonicalName(PodObject pod, string workloadName) =>
        First(pod.Meta.Labels, CanonicalNameLabel, "app.kubernetes.io/name", "app") ?? workloadName;

    private static string CanonicalRevision(PodObject pod) =>
        First(pod.Meta.Labels, CanonicalRevisionLabel, "app.kubernetes.io/version", "version") ?? "latest";

    /// <summary>The first label present, even if empty: istiod's lookupLabelValue tests presence, not value.</summary>
    private static string? First(ImmutableDictionary<string, string> labels, params string[] keys)
    {
        foreach (var k in keys)
        {
            if (labels.TryGetValue(k, out var v))
                return v;
        }
        return null;
    }

    public const string WorkloadNameLabel = "service.istio.io/workload-name";

    /// <summary>
    /// The owning workload as istiod derives it (kubeutil.GetWorkloadMetaFromPod): only the <em>controller</em>
    /// owner counts; a ReplicaSet named <c>&lt;deploy&gt;-&lt;pod-template-hash&gt;</c> means a Deployment; a Job
    /// named <c>&lt;cronjob&gt;-&lt;8 to 10 digits&gt;</c> means a CronJob; any other controller (StatefulSet,
    /// DaemonSet, a bare ReplicaSet) names the workload with type POD; label
    /// <c>service.istio.io/workload-name</c> overrides the name. Fixed here: a non-controller owner was used, a
    /// bare ReplicaSet counted as a Deployment, and any digit suffix (Job "migrate-2") made a CronJob.
    /// </summary>
    public static (string Name, WorkloadType Type) NameAndType(PodObject pod)
    {
        var (name, type) = OwnerNameAndType(pod);
        return pod.Meta.Labels.TryGetValue(WorkloadNameLabel, out var overridden) ? (overridden, type) : (name, type);
    }

    private static (string Name, WorkloadType Type) OwnerNameAndType(PodObject pod)
    {
        var owner = pod.Meta.Owners.IsDefaultOrEmpty ? null : pod.Meta.Owners.FirstOrDefault(o => o.Controller);
        if (owner is null)
            return (pod.Meta.Name, WorkloadType.Pod);
        switch (owner.Kind)
        {
            case "ReplicaSet":
                var hash = pod.Meta.Label("pod-template-hash");
                if (hash.Length > 0 && owner.Name.EndsWith("-" + hash, StringComparison.Ordinal))
                    return (owner.Name[..^(hash.Length + 1)], WorkloadType.Deployment);
                return (owner.Name, WorkloadType.Pod);
            case "Job":
                var dash = owner.Name.LastIndexOf('-');
                var suffix = dash > 0 ? owner.Name[(dash + 1)..] : "";
                if (suffix.Length is >= 8 and <= 10 && suffix.All(char.IsAsciiDigit))
                    return (owner.Name[..dash], WorkloadType.Cronjob);
                return (owner.Name, WorkloadType.Job);
            case "Deployment":
                return (owner.Name, WorkloadType.Deployment);
            default:
                return (owner.Name, WorkloadType.Pod);
        }
    }
}
