using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Text;
using Ambient.ControlPlane.Model;

namespace Ambient.Bench.Mesh;

/// <summary>Shape of the generated mesh. The defaults are the benchmark's reference size.</summary>
public sealed record MeshSpec(int Namespaces = 100, int PodsPerNamespace = 100, int ServicesPerNamespace = 10)
{
    public int Pods => Namespaces * PodsPerNamespace;
    public int Services => Namespaces * ServicesPerNamespace;
    public override string ToString() =>
        $"{Pods:N0} pods / {Services:N0} services / {Namespaces} namespaces ({PodsPerNamespace} pods and {ServicesPerNamespace} services per namespace)";
}

/// <summary>
/// A deterministic, realistic-looking ambient mesh, generated in memory:
/// <list type="bullet">
/// <item>every namespace is enrolled (<c>istio.io/dataplane-mode=ambient</c>);</item>
/// <item>each namespace runs <c>ServicesPerNamespace</c> Deployments (<c>app-N</c>), each with an equal share of the
/// namespace's pods, owned by a ReplicaSet with a pod-template-hash, captured (<c>ambient.istio.io/redirection</c>),
/// exposing named container ports <c>http</c> 8080 and <c>grpc</c> 9090;</item>
/// <item>one Service per Deployment selects it by label (<c>app=app-N</c>) with two TCP ports whose targetPorts are
/// the <em>names</em> <c>http</c> and <c>grpc</c>, so every workload and endpoint resolves a named port;</item>
/// <item>a few AuthorizationPolicies: one mesh-wide DENY in the root namespace, selector ALLOWs in ten namespaces,
/// namespace-wide DENYs in five, and one ALLOW with an L7 field (a policy warning).</item>
/// </list>
/// The same objects can be written as YAML manifests (<see cref="WriteManifests"/>) for a child control plane.
/// </summary>
public static class MeshGenerator
{
    public const string Origin = "bench";

    private static readonly ImmutableDictionary<string, string> NoStrings = ImmutableDictionary.Create<string, string>(StringComparer.Ordinal);

    public static string NamespaceName(int n) => $"ns-{n:D3}";

    public static string AppName(int s) => $"app-{s}";

    public static string PodTemplateHash(int ns, int app) => $"{(uint)((ns * 7919) ^ (app * 104729)):x8}"[..8];

    public static string PodName(int ns, int app, int replica) => $"{AppName(app)}-{PodTemplateHash(ns, app)}-r{replica:D4}";

    public static IPAddress PodIp(int globalPod) => new(new byte[] { 10, (byte)(1 + globalPod / 65536), (byte)(globalPod / 256 % 256), (byte)(globalPod % 256) });

    public static IPAddress ServiceIp(int globalService) => new(new byte[] { 10, 96, (byte)(globalService / 256), (byte)(globalService % 256) });

    public static List<KubeObject> Generate(MeshSpec spec, MeshOptions mesh)
    {
        if (spec.PodsPerNamespace % spec.ServicesPerNamespace != 0)
            throw new ArgumentException("pods per namespace must be a multiple of services per namespace");
        var objects = new List<KubeObject>(spec.Pods + spec.Services + spec.Namespaces * 2 + 32)
        {
            new NamespaceObject(Meta(mesh.RootNamespace, "", NoStrings)),
        };
        var replicas = spec.PodsPerNamespace / spec.ServicesPerNamespace;
        var pod = 0;
        var service = 0;
        for (var n = 0; n < spec.Namespaces; n++)
        {
            var ns = NamespaceName(n);
            objects.Add(new NamespaceObject(Meta(ns, "", Labels((Selectors.DataplaneModeLabel, "ambient")))));
            for (var a = 0; a < spec.ServicesPerNamespace; a++)
            {
                var app = AppName(a);
                objects.Add(new ServiceAccountObject(Meta(app, ns, NoStrings)));
                objects.Add(new ServiceObject(
                    Meta(app, ns, Labels(("app", app))),
                    Selector: Labels(("app", app)),
                    ClusterIPs: [ServiceIp(service++)],
                    Ports:
                    [
                        new ServicePort("http", 80, new TargetPort(0, "http"), "TCP", null),
                        new ServicePort("grpc", 9090, new TargetPort(0, "grpc"), "TCP", "grpc"),
                    ],
                    InternalTrafficPolicy: null,
                    TrafficDistribution: null,
                    PublishNotReadyAddresses: false,
                    IpFamilies: ["IPv4"]));
                var hash = PodTemplateHash(n, a);
                for (var r = 0; r < replicas; r++)
                {
                    var labels = Labels(("app", app), ("version", "v1"), ("pod-template-hash", hash), ("tier", a % 2 == 0 ? "frontend" : "backend"));
                    var meta = Meta(PodName(n, a, r), ns, labels) with
                    {
                        Annotations = Labels((Selectors.RedirectionAnnotation, "enabled")),
                        Owners = [new OwnerReference("ReplicaSet", $"{app}-{hash}", true)],
                    };
                    objects.Add(new PodObject(
                        meta,
                        NodeName: $"node-{pod % 50:D2}",
                        ServiceAccount: app,
                        PodIPs: [PodIp(pod)],
                        Ready: true,
                        Phase: "Running",
                        HostNetwork: false,
                        ContainerPorts: [new ContainerPort("http", 8080, "TCP"), new ContainerPort("grpc", 9090, "TCP")]));
                    pod++;
                }
            }
        }
        AddPolicies(spec, mesh, objects);
        return objects;
    }

    private static void AddPolicies(MeshSpec spec, MeshOptions mesh, List<KubeObject> objects)
    {
        ImmutableArray<string> none = [];
        RuleSource Source(ImmutableArray<string>? principals = null, ImmutableArray<string>? namespaces = null,
            ImmutableArray<string>? notNamespaces = null, ImmutableArray<string>? ipBlocks = null) =>
            new(principals ?? none, none, namespaces ?? none, notNamespaces ?? none, ipBlocks ?? none, none, none, none, none);

        // Mesh-wide: nobody from the documentation range.
        objects.Add(new AuthorizationPolicyObject(Meta("deny-test-net", mesh.RootNamespace, NoStrings), null, [], AuthorizationAction.Deny,
            [new AuthorizationRule([Source(ipBlocks: ["192.0.2.0/24"])], [], [])], HasRules: true, DryRun: false));
        for (var n = 0; n < Math.Min(10, spec.Namespaces); n++)
        {
            var ns = NamespaceName(n);
            // app-0 accepts its own namespace and app-1's identity, on the http port.
            objects.Add(new AuthorizationPolicyObject(Meta("allow-app-0", ns, NoStrings), Labels(("app", AppName(0))), [], AuthorizationAction.Allow,
                [new AuthorizationRule(
                    [Source(namespaces: [ns]), Source(principals: [$"{mesh.TrustDomain}/ns/{ns}/sa/{AppName(1)}"])],
                    [new RuleOperation([8080], [], [])],
                    [])],
                HasRules: true, DryRun: false));
        }
        for (var n = 10; n < Math.Min(15, spec.Namespaces); n++)
        {
            var ns = NamespaceName(n);
            objects.Add(new AuthorizationPolicyObject(Meta("deny-foreign", ns, NoStrings), null, [], AuthorizationAction.Deny,
                [new AuthorizationRule([Source(notNamespaces: [ns, mesh.RootNamespace])], [], [new RuleCondition("destination.port", ["9090"], [])])],
                HasRules: true, DryRun: false));
        }
        if (spec.Namespaces > 20 && spec.ServicesPerNamespace > 1)
        {
            // An ALLOW that needs a waypoint (HTTP methods): the node agents get it as never-matching, with a warning.
            objects.Add(new AuthorizationPolicyObject(Meta("allow-get", NamespaceName(20), NoStrings), Labels(("app", AppName(1))), [], AuthorizationAction.Allow,
                [new AuthorizationRule([], [new RuleOperation([], [], ["methods"])], [])], HasRules: true, DryRun: false));
        }
    }

    private static ObjectMeta Meta(string name, string ns, ImmutableDictionary<string, string> labels) =>
        new(name, ns, Uid(ns, name), labels, NoStrings);

    private static string Uid(string ns, string name)
    {
        // FNV-1a: deterministic across processes, so the YAML and the in-memory objects agree.
        var h = 14695981039346656037UL;
        foreach (var c in ns + "/" + name)
            h = (h ^ c) * 1099511628211UL;
        return $"{h >> 32:x8}-0000-4000-8000-{h & 0xffffffffffffUL:x12}";
    }

    private static ImmutableDictionary<string, string> Labels(params (string Key, string Value)[] pairs)
    {
        var b = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in pairs)
            b[k] = v;
        return b.ToImmutable();
    }

    /// <summary>
    /// Writes the objects as Kubernetes YAML, one file per namespace (plus <c>cluster.yaml</c> for cluster-scoped
    /// objects and the root namespace), in the shape <c>ambient-controlplane --config-dir</c> reads.
    /// </summary>
    public static void WriteManifests(IEnumerable<KubeObject> objects, string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var group in objects.GroupBy(o => o.Meta.Namespace.Length == 0 ? "cluster" : o.Meta.Namespace))
        {
            var sb = new StringBuilder();
            foreach (var o in group)
            {
                sb.Append("---\n");
                Yaml(sb, o);
            }
            File.WriteAllText(Path.Combine(directory, group.Key + ".yaml"), sb.ToString());
        }
    }

    private static void Yaml(StringBuilder sb, KubeObject o)
    {
        switch (o)
        {
            case NamespaceObject:
                sb.Append("apiVersion: v1\nkind: Namespace\n");
                MetaYaml(sb, o.Meta);
                break;
            case ServiceAccountObject:
                sb.Append("apiVersion: v1\nkind: ServiceAccount\n");
                MetaYaml(sb, o.Meta);
                break;
            case PodObject p:
                sb.Append("apiVersion: v1\nkind: Pod\n");
                MetaYaml(sb, p.Meta);
                sb.Append("spec:\n  nodeName: ").Append(p.NodeName).Append("\n  serviceAccountName: ").Append(p.ServiceAccount).Append('\n');
                sb.Append("  containers:\n  - name: app\n    image: example.com/app:1\n    ports:\n");
                foreach (var cp in p.ContainerPorts)
                    sb.Append("    - name: ").Append(cp.Name).Append("\n      containerPort: ").Append(I(cp.Port)).Append("\n      protocol: ").Append(cp.Protocol).Append('\n');
                sb.Append("status:\n  phase: ").Append(p.Phase).Append("\n  podIP: ").Append(p.PodIPs[0]).Append("\n  podIPs:\n");
                foreach (var ip in p.PodIPs)
                    sb.Append("  - ip: ").Append(ip).Append('\n');
                sb.Append("  conditions:\n  - type: Ready\n    status: \"").Append(p.Ready ? "True" : "False").Append("\"\n");
                break;
            case ServiceObject s:
                sb.Append("apiVersion: v1\nkind: Service\n");
                MetaYaml(sb, s.Meta);
                sb.Append("spec:\n");
                if (s.Selector is { } sel)
                    Map(sb, "  ", "selector", sel);
                sb.Append("  clusterIP: ").Append(s.ClusterIPs[0]).Append("\n  clusterIPs:\n");
                foreach (var ip in s.ClusterIPs)
                    sb.Append("  - ").Append(ip).Append('\n');
                sb.Append("  ipFamilies:\n");
                foreach (var f in s.IpFamilies)
                    sb.Append("  - ").Append(f).Append('\n');
                sb.Append("  ports:\n");
                foreach (var p in s.Ports)
                {
                    sb.Append("  - name: ").Append(p.Name).Append("\n    port: ").Append(I(p.Port)).Append("\n    targetPort: ").Append(p.TargetPort.ToString())
                        .Append("\n    protocol: ").Append(p.Protocol).Append('\n');
                    if (p.AppProtocol is { } ap)
                        sb.Append("    appProtocol: ").Append(ap).Append('\n');
                }
                break;
            case AuthorizationPolicyObject a:
                sb.Append("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n");
                MetaYaml(sb, a.Meta);
                sb.Append("spec:\n  action: ").Append(a.Action.ToString().ToUpperInvariant()).Append('\n');
                if (a.Selector is { } asel)
                {
                    sb.Append("  selector:\n");
                    Map(sb, "    ", "matchLabels", asel);
                }
                sb.Append("  rules:\n");
                foreach (var r in a.Rules)
                {
                    if (r.From.IsEmpty && r.To.IsEmpty && r.When.IsEmpty)
                    {
                        sb.Append("  - {}\n");
                        continue;
                    }
                    var lead = "  - ";
                    if (!r.From.IsEmpty)
                    {
                        sb.Append(lead).Append("from:\n");
                        lead = "    ";
                        foreach (var f in r.From)
                        {
                            sb.Append("    - source:\n");
                            List(sb, "        ", "principals", f.Principals);
                            List(sb, "        ", "namespaces", f.Namespaces);
                            List(sb, "        ", "notNamespaces", f.NotNamespaces);
                            List(sb, "        ", "ipBlocks", f.IpBlocks);
                        }
                    }
                    if (!r.To.IsEmpty)
                    {
                        sb.Append(lead).Append("to:\n");
                        lead = "    ";
                        foreach (var t in r.To)
                        {
                            sb.Append("    - operation:\n");
                            List(sb, "        ", "ports", [.. t.Ports.Select(I)]);
                            foreach (var l7 in t.L7Fields)
                                sb.Append("        ").Append(l7).Append(": [\"GET\"]\n");
                        }
                    }
                    if (!r.When.IsEmpty)
                    {
                        sb.Append(lead).Append("when:\n");
                        foreach (var w in r.When)
                        {
                            sb.Append("    - key: ").Append(w.Key).Append('\n');
                            List(sb, "      ", "values", w.Values);
                        }
                    }
                }
                break;
            default:
                throw new NotSupportedException(o.Kind);
        }
    }

    private static void MetaYaml(StringBuilder sb, ObjectMeta m)
    {
        sb.Append("metadata:\n  name: ").Append(m.Name).Append('\n');
        if (m.Namespace.Length > 0)
            sb.Append("  namespace: ").Append(m.Namespace).Append('\n');
        sb.Append("  uid: ").Append(m.Uid).Append('\n');
        if (!m.Labels.IsEmpty)
            Map(sb, "  ", "labels", m.Labels);
        if (!m.Annotations.IsEmpty)
            Map(sb, "  ", "annotations", m.Annotations);
        if (!m.Owners.IsDefaultOrEmpty)
        {
            sb.Append("  ownerReferences:\n");
            foreach (var o in m.Owners)
                sb.Append("  - apiVersion: apps/v1\n    kind: ").Append(o.Kind).Append("\n    name: ").Append(o.Name).Append("\n    controller: ").Append(o.Controller ? "true" : "false").Append('\n');
        }
    }

    private static void Map(StringBuilder sb, string indent, string key, ImmutableDictionary<string, string> map)
    {
        sb.Append(indent).Append(key).Append(":\n");
        foreach (var (k, v) in map.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            sb.Append(indent).Append("  ").Append(k).Append(": \"").Append(v).Append("\"\n");
    }

    private static void List(StringBuilder sb, string indent, string key, ImmutableArray<string> items)
    {
        if (items.IsDefaultOrEmpty)
            return;
        sb.Append(indent).Append(key).Append(":\n");
        foreach (var i in items)
            sb.Append(indent).Append("- \"").Append(i).Append("\"\n");
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
}
