using System.Collections.Immutable;
using Ambient.ControlPlane.Model;
using Ambient.Xds;
using Ambient.Xds.Protos.Workload;

namespace Ambient.ControlPlane.Discovery;

/// <summary>
/// Builds <see cref="XdsSnapshot"/>s from <see cref="ClusterState"/>s. It remembers what each resource was
/// built from (by reference) and reuses the serialized resource when nothing it depends on changed, so one
/// pod change re-serializes that pod's workload and its services' endpoints, not the whole mesh.
/// Not thread-safe: one publisher owns it.
/// </summary>
public sealed class SnapshotBuilder(MeshOptions mesh)
{
    private readonly record struct WorkloadInputs(PodObject Pod, ImmutableArray<ServiceObject> Services, string Policies);

    private sealed record EndpointInputs(ServiceObject Service, PodObject[] Pods);

    private Dictionary<ObjectKey, (WorkloadInputs In, XdsResource Out)> _workloads = [];
    private Dictionary<ObjectKey, (ServiceObject In, XdsResource Out)> _services = [];
    private Dictionary<ObjectKey, (ServiceObject In, XdsResource[] Out)> _serviceEnvoy = [];
    private Dictionary<ObjectKey, (EndpointInputs In, XdsResource[] Out)> _endpoints = [];
    private Dictionary<ObjectKey, (AuthorizationPolicyObject In, XdsResource? Out, List<string> Warnings)> _policies = [];
    // PodEnrollment depends on the pod and its namespace (the namespace label decides enrolment).
    private Dictionary<ObjectKey, (PodObject Pod, NamespaceObject? Ns, XdsResource Out)> _enrollments = [];
    private XdsSnapshot _previous = XdsSnapshot.Empty;
    private readonly string _bootId = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString("x");

    public MeshOptions Mesh => mesh;

    /// <summary>Warnings about policies the node agents cannot fully enforce, from the last build.</summary>
    public IReadOnlyList<string> Warnings { get; private set; } = [];

    public XdsSnapshot Build(ClusterState state)
    {
        var addresses = new Dictionary<string, XdsResource>(state.Pods.Length + state.Services.Length, StringComparer.Ordinal);
        var authz = new Dictionary<string, XdsResource>(StringComparer.Ordinal);
        var listeners = new Dictionary<string, XdsResource>(StringComparer.Ordinal);
        var routes = new Dictionary<string, XdsResource>(StringComparer.Ordinal);
        var clusters = new Dictionary<string, XdsResource>(StringComparer.Ordinal);
        var loadAssignments = new Dictionary<string, XdsResource>(StringComparer.Ordinal);
        var enrollmentResources = new Dictionary<string, XdsResource>(state.Pods.Length, StringComparer.Ordinal);

        var servicesByNs = state.Services.GroupBy(s => s.Meta.Namespace)
            .ToDictionary(g => g.Key, g => g.OrderBy(s => s.Meta.Name, StringComparer.Ordinal).ToImmutableArray(), StringComparer.Ordinal);
        var podsByNs = state.Pods.Where(p => !p.Finished && !p.PodIPs.IsDefaultOrEmpty).GroupBy(p => p.Meta.Namespace)
            .ToDictionary(g => g.Key, g => g.OrderBy(p => p.Meta.Name, StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);

        // Authorization policies first: workloads name the selector policies that apply to them.
        var warnings = new List<string>();
        var policies = new Dictionary<ObjectKey, (AuthorizationPolicyObject, XdsResource?, List<string>)>();
        foreach (var p in state.AuthorizationPolicies)
        {
            if (!_policies.TryGetValue(p.Key, out var cached) || !ReferenceEquals(cached.In, p))
            {
                var w = new List<string>();
                var built = AuthorizationBuilder.Build(mesh, p, w);
                cached = (p, built is null ? null : XdsResource.Create(AuthorizationBuilder.ResourceName(p), built), w);
            }
            policies[p.Key] = cached;
            warnings.AddRange(cached.Warnings);
            if (cached.Out is { } r)
                authz[r.Name] = r;
        }
        _policies = policies;
        Warnings = warnings;
        // Sorted by the full "ns/name" key, as istiod sorts a workload's list ("a-b/x" before "a/y").
        var selectorPolicies = state.AuthorizationPolicies
            .Where(p => p.Selector is { Count: > 0 } && p.TargetRefs.IsDefaultOrEmpty && p.Action is AuthorizationAction.Allow or AuthorizationAction.Deny)
            .OrderBy(AuthorizationBuilder.ResourceName, StringComparer.Ordinal)
            .ToArray();

        // PeerAuthentication was parsed but never served, so STRICT mTLS was not enforced at all. istiod serves
        // a static DENY-plaintext policy whenever any PeerAuthentication exists, plus converted port-level ones,
        // and workloads list the ones in force for them (PeerAuthenticationBuilder).
        var peerAuths = state.PeerAuthentications;
        if (peerAuths.Length > 0)
        {
            var strict = XdsResource.Create(PeerAuthenticationBuilder.StaticStrictResourceName(mesh), PeerAuthenticationBuilder.StaticStrict(mesh));
            authz[strict.Name] = strict;
            foreach (var pa in peerAuths)
            {
                if (PeerAuthenticationBuilder.Convert(mesh, pa, peerAuths) is { } converted)
                    authz[PeerAuthenticationBuilder.ConvertedResourceName(pa)] = XdsResource.Create(PeerAuthenticationBuilder.ConvertedResourceName(pa), converted);
            }
        }

        var workloads = new Dictionary<ObjectKey, (WorkloadInputs, XdsResource)>(state.Pods.Length);
        foreach (var (ns, pods) in podsByNs)
        {
            var svcs = servicesByNs.GetValueOrDefault(ns, []);
            state.Namespaces.TryGetValue(ns, out var nsObj);
            foreach (var pod in pods)
            {
                var policyNames = PoliciesFor(pod, selectorPolicies, peerAuths);
                var inputs = new WorkloadInputs(pod, svcs, policyNames);
                if (!_workloads.TryGetValue(pod.Key, out var cached) || !SameWorkloadInputs(cached.In, inputs))
                {
                    var uid = WorkloadBuilder.Uid(mesh, pod);
                    var names = policyNames.Length == 0 ? [] : policyNames.Split(',');
                    var w = WorkloadBuilder.Build(mesh, pod, nsObj, svcs, names);
                    cached = (inputs, XdsResource.Create(uid, new Address { Workload = w }));
                }
                workloads[pod.Key] = cached;
                addresses[cached.Out.Name] = cached.Out;
            }
        }
        _workloads = workloads;

        // Enrolment is served for every pod that has not finished, with or without IPs: the node agent must know a
        // pod is enrolled before the CNI ADD that gives it an address.
        var enrollments = new Dictionary<ObjectKey, (PodObject, NamespaceObject?, XdsResource)>(state.Pods.Length);
        foreach (var pod in state.Pods)
        {
            if (pod.Finished)
                continue;
            state.Namespaces.TryGetValue(pod.Meta.Namespace, out var nsObj);
            if (!_enrollments.TryGetValue(pod.Key, out var e) || !ReferenceEquals(e.Pod, pod) || !ReferenceEquals(e.Ns, nsObj))
                e = (pod, nsObj, XdsResource.Create(EnrollmentBuilder.ResourceName(pod), EnrollmentBuilder.Build(pod, nsObj)));
            enrollments[pod.Key] = e;
            enrollmentResources[e.Out.Name] = e.Out;
        }
        _enrollments = enrollments;

        var services = new Dictionary<ObjectKey, (ServiceObject, XdsResource)>(state.Services.Length);
        var serviceEnvoy = new Dictionary<ObjectKey, (ServiceObject, XdsResource[])>(state.Services.Length);
        var endpoints = new Dictionary<ObjectKey, (EndpointInputs, XdsResource[])>(state.Services.Length);
        foreach (var svc in state.Services)
        {
            if (!_services.TryGetValue(svc.Key, out var s) || !ReferenceEquals(s.In, svc))
                s = (svc, XdsResource.Create(ServiceBuilder.ResourceName(mesh, svc), new Address { Service = ServiceBuilder.Build(mesh, svc) }));
            services[svc.Key] = s;
            addresses[s.Out.Name] = s.Out;

            var hostname = mesh.ServiceHostname(svc.Meta.Name, svc.Meta.Namespace);
            if (!_serviceEnvoy.TryGetValue(svc.Key, out var e) || !ReferenceEquals(e.In, svc))
                e = (svc, BuildEnvoy(svc, hostname));
            serviceEnvoy[svc.Key] = e;
            foreach (var r in e.Out)
            {
                (r.Any.TypeUrl switch
                {
                    TypeUrls.Listener => listeners,
                    TypeUrls.RouteConfiguration => routes,
                    _ => clusters,
                })[r.Name] = r;
            }

            var selected = svc.Selector is null
                ? []
                : podsByNs.GetValueOrDefault(svc.Meta.Namespace, []).Where(p => Selectors.Matches(svc.Selector, p.Meta.Labels)).ToArray();
            var epIn = new EndpointInputs(svc, selected);
            if (!_endpoints.TryGetValue(svc.Key, out var ep) || !SameEndpointInputs(ep.In, epIn))
            {
                ep = (epIn, svc.Ports.Where(p => p.Protocol == "TCP")
                    .Select(p => XdsResource.Create(EnvoyBuilder.ClusterName(hostname, p.Port), EnvoyBuilder.LoadAssignment(svc, p, hostname, selected)))
                    .ToArray());
            }
            endpoints[svc.Key] = ep;
            foreach (var r in ep.Out)
                loadAssignments[r.Name] = r;
        }
        _services = services;
        _serviceEnvoy = serviceEnvoy;
        _endpoints = endpoints;

        var types = new Dictionary<string, XdsResourceSet>
        {
            [TypeUrls.Address] = new(addresses),
            [TypeUrls.Authorization] = new(authz),
            [TypeUrls.Listener] = new(listeners),
            [TypeUrls.RouteConfiguration] = new(routes),
            [TypeUrls.Cluster] = new(clusters),
            [TypeUrls.ClusterLoadAssignment] = new(loadAssignments),
            [TypeUrls.PodEnrollment] = new(enrollmentResources),
        };
        var seq = _previous.Sequence + 1;
        var snapshot = new XdsSnapshot(seq, $"{_bootId}-{seq}", types, XdsSnapshot.Diff(_previous, types));
        _previous = snapshot;
        return snapshot;
    }

    private XdsResource[] BuildEnvoy(ServiceObject svc, string hostname)
    {
        var list = new List<XdsResource>();
        foreach (var p in svc.Ports)
        {
            if (p.Protocol != "TCP")
                continue;
            list.Add(XdsResource.Create(EnvoyBuilder.ListenerName(hostname, p.Port), EnvoyBuilder.Listener(hostname, p.Port)));
            list.Add(XdsResource.Create(EnvoyBuilder.ListenerName(hostname, p.Port), EnvoyBuilder.Route(svc, hostname, p.Port)));
            list.Add(XdsResource.Create(EnvoyBuilder.ClusterName(hostname, p.Port), EnvoyBuilder.Cluster(hostname, p.Port)));
        }
        return [.. list];
    }

    /// <summary>
    /// Selector policies apply to matching pods in their own namespace; in the root namespace, to matching pods
    /// in every namespace (Istio's semantics). Returned comma-joined: a cheap, comparable cache key.
    /// </summary>
    private string PoliciesFor(PodObject pod, AuthorizationPolicyObject[] selectorPolicies, ImmutableArray<PeerAuthenticationObject> peerAuths)
    {
        string? result = null;
        foreach (var p in selectorPolicies)
        {
            if (p.Meta.Namespace != pod.Meta.Namespace && p.Meta.Namespace != mesh.RootNamespace)
                continue;
            if (!Selectors.Matches(p.Selector!, pod.Meta.Labels))
                continue;
            var name = AuthorizationBuilder.ResourceName(p);
            result = result is null ? name : result + "," + name;
        }
        // Then the PeerAuthentication-derived ones, as istiod appends them after the sorted selector policies.
        if (peerAuths.Length > 0)
        {
            foreach (var name in PeerAuthenticationBuilder.KeysFor(mesh, pod, peerAuths))
                result = result is null ? name : result + "," + name;
        }
        return result ?? "";
    }

    private static bool SameWorkloadInputs(WorkloadInputs a, WorkloadInputs b) =>
        ReferenceEquals(a.Pod, b.Pod) && a.Policies == b.Policies && SameRefs(a.Services.AsSpan(), b.Services.AsSpan());

    private static bool SameEndpointInputs(EndpointInputs a, EndpointInputs b) =>
        ReferenceEquals(a.Service, b.Service) && SameRefs<PodObject>(a.Pods, b.Pods);

    private static bool SameRefs<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : class
    {
        if (a.Length != b.Length)
            return false;
        for (var i = 0; i < a.Length; i++)
        {
            if (!ReferenceEquals(a[i], b[i]))
                return false;
        }
        return true;
    }
}
