using System.Collections.Immutable;
using System.Runtime.InteropServices;
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

    /// <summary>
    /// One namespace's workloads, aligned with the sorted pod array they were built from (perf: a namespace whose
    /// pods, services and policies are all the objects of the last build is reused whole, without per-pod work).
    /// </summary>
    private sealed record NamespaceWorkloads(PodObject[] Pods, ImmutableArray<ServiceObject> Services, (WorkloadInputs In, XdsResource Out)[] Entries);

    private Dictionary<string, NamespaceWorkloads> _workloadsByNs = new(StringComparer.Ordinal);
    private Dictionary<string, PodObject[]> _podsByNs = new(StringComparer.Ordinal);
    private Dictionary<string, PodObject[]> _podsByNsUnsorted = new(StringComparer.Ordinal);
    private AuthorizationPolicyObject[] _selectorPolicies = [];
    private ImmutableArray<PeerAuthenticationObject> _peerAuths = [];
    private Dictionary<ObjectKey, (ServiceObject In, XdsResource Out)> _services = [];
    private Dictionary<ObjectKey, (ServiceObject In, XdsResource[] Out)> _serviceEnvoy = [];
    private ImmutableArray<ServiceObject> _lastServices = [];
    private (XdsResourceSet Listeners, XdsResourceSet Routes, XdsResourceSet Clusters)? _envoySets;
    private Dictionary<ObjectKey, (EndpointInputs In, PodObject[] NamespacePods, XdsResource[] Out)> _endpoints = [];
    private Dictionary<ObjectKey, (AuthorizationPolicyObject In, XdsResource? Out, List<string> Warnings)> _policies = [];
    // PodEnrollment depends on the pod and its namespace (the namespace label decides enrolment).
    // Perf: kept aligned with the last build's pod list (entry i for Pods[i]; default for a finished pod), so that an
    // unchanged pod is found by index rather than by hashing its key.
    private (PodObject Pod, NamespaceObject? Ns, XdsResource Out)[] _enrollments = [];
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
        var podsByNs = PodsByNamespace(state);

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

        // Policy names are a function of the pod and the selector policies: when those are the same objects as in the
        // last build, a namespace whose pod array (see above) and services are unchanged is reused whole.
        var policiesUnchanged = SameRefs<AuthorizationPolicyObject>(_selectorPolicies, selectorPolicies)
            && SameRefs(_peerAuths.AsSpan(), peerAuths.AsSpan());
        var workloadsByNs = new Dictionary<string, NamespaceWorkloads>(podsByNs.Count, StringComparer.Ordinal);
        foreach (var (ns, pods) in podsByNs)
        {
            var svcs = servicesByNs.GetValueOrDefault(ns, []);
            _workloadsByNs.TryGetValue(ns, out var last);
            NamespaceWorkloads current;
            if (last is not null && policiesUnchanged && ReferenceEquals(last.Pods, pods) && SameRefs(last.Services.AsSpan(), svcs.AsSpan()))
            {
                current = last;
            }
            else
            {
                state.Namespaces.TryGetValue(ns, out var nsObj);
                Dictionary<string, (WorkloadInputs In, XdsResource Out)>? lastByName = null;
                if (last is not null)
                {
                    lastByName = new Dictionary<string, (WorkloadInputs, XdsResource)>(last.Pods.Length, StringComparer.Ordinal);
                    for (var i = 0; i < last.Pods.Length; i++)
                        lastByName[last.Pods[i].Meta.Name] = last.Entries[i];
                }
                var entries = new (WorkloadInputs In, XdsResource Out)[pods.Length];
                for (var i = 0; i < pods.Length; i++)
                {
                    var pod = pods[i];
                    var policyNames = PoliciesFor(pod, selectorPolicies, peerAuths);
                    var inputs = new WorkloadInputs(pod, svcs, policyNames);
                    if (lastByName is null || !lastByName.TryGetValue(pod.Meta.Name, out var cached) || !SameWorkloadInputs(cached.In, inputs))
                    {
                        var uid = WorkloadBuilder.Uid(mesh, pod);
                        var names = policyNames.Length == 0 ? [] : policyNames.Split(',');
                        var w = WorkloadBuilder.Build(mesh, pod, nsObj, svcs, names);
                        cached = (inputs, XdsResource.Create(uid, new Address { Workload = w }));
                    }
                    entries[i] = cached;
                }
                current = new NamespaceWorkloads(pods, svcs, entries);
            }
            workloadsByNs[ns] = current;
            foreach (var (_, w) in current.Entries)
                addresses[w.Name] = w;
        }
        _workloadsByNs = workloadsByNs;
        _selectorPolicies = selectorPolicies;
        _peerAuths = peerAuths;

        // Enrolment is served for every pod that has not finished, with or without IPs: the node agent must know a
        // pod is enrolled before the CNI ADD that gives it an address.
        var enrollments = new (PodObject Pod, NamespaceObject? Ns, XdsResource Out)[state.Pods.Length];
        Dictionary<ObjectKey, (PodObject Pod, NamespaceObject? Ns, XdsResource Out)>? lastByKey = null;
        string? podNsName = null;
        NamespaceObject? podNs = null;
        for (var i = 0; i < state.Pods.Length; i++)
        {
            var pod = state.Pods[i];
            if (pod.Finished)
                continue;
            if (!string.Equals(pod.Meta.Namespace, podNsName, StringComparison.Ordinal))
            {
                podNsName = pod.Meta.Namespace; // pods of a namespace mostly come together: look each one up once
                state.Namespaces.TryGetValue(podNsName, out podNs);
            }
            // The last build's entry for this pod: at the same index unless pods were added or removed before it.
            (PodObject Pod, NamespaceObject? Ns, XdsResource Out) e = default;
            if (i < _enrollments.Length && _enrollments[i].Pod is { } lastPod && (ReferenceEquals(lastPod, pod) || lastPod.Key == pod.Key))
            {
                e = _enrollments[i];
            }
            else
            {
                lastByKey ??= EnrollmentsByKey();
                lastByKey.TryGetValue(pod.Key, out e);
            }
            if (e.Out is null || !ReferenceEquals(e.Pod, pod) || !ReferenceEquals(e.Ns, podNs))
                e = (pod, podNs, XdsResource.Create(EnrollmentBuilder.ResourceName(pod), EnrollmentBuilder.Build(pod, podNs)));
            enrollments[i] = e;
            enrollmentResources[e.Out.Name] = e.Out;
        }
        _enrollments = enrollments;

        // Perf: service addresses, listeners, routes and clusters depend on the services alone. When every service is
        // the very object of the last build, in the same order, those caches and the last build's listener, route and
        // cluster sets are reused as they are: no per-service envoy work, and the diff sees the same sets.
        var servicesUnchanged = _envoySets is not null && SameRefs(_lastServices.AsSpan(), state.Services.AsSpan());
        var services = servicesUnchanged ? _services : new Dictionary<ObjectKey, (ServiceObject, XdsResource)>(state.Services.Length);
        var serviceEnvoy = servicesUnchanged ? _serviceEnvoy : new Dictionary<ObjectKey, (ServiceObject, XdsResource[])>(state.Services.Length);
        var endpoints = new Dictionary<ObjectKey, (EndpointInputs, PodObject[], XdsResource[])>(state.Services.Length);
        foreach (var svc in state.Services)
        {
            string? hostname = null;
            if (servicesUnchanged)
            {
                var address = _services[svc.Key].Out;
                addresses[address.Name] = address;
            }
            else
            {
                if (!_services.TryGetValue(svc.Key, out var s) || !ReferenceEquals(s.In, svc))
                    s = (svc, XdsResource.Create(ServiceBuilder.ResourceName(mesh, svc), new Address { Service = ServiceBuilder.Build(mesh, svc) }));
                services[svc.Key] = s;
                addresses[s.Out.Name] = s.Out;

                hostname = mesh.ServiceHostname(svc.Meta.Name, svc.Meta.Namespace);
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
            }

            // Perf: the same service over the same namespace pod array (see podsByNs) selects the same pods; only
            // otherwise are the selectors matched again.
            var nsPods = podsByNs.GetValueOrDefault(svc.Meta.Namespace, []);
            if (!_endpoints.TryGetValue(svc.Key, out var ep) || !ReferenceEquals(ep.In.Service, svc) || !ReferenceEquals(ep.NamespacePods, nsPods))
            {
                var selected = svc.Selector is null
                    ? []
                    : nsPods.Where(p => Selectors.Matches(svc.Selector, p.Meta.Labels)).ToArray();
                var epIn = new EndpointInputs(svc, selected);
                if (ep.In is null || !SameEndpointInputs(ep.In, epIn))
                {
                    hostname ??= mesh.ServiceHostname(svc.Meta.Name, svc.Meta.Namespace);
                    ep = (epIn, nsPods, svc.Ports.Where(p => p.Protocol == "TCP")
                        .Select(p => XdsResource.Create(EnvoyBuilder.ClusterName(hostname, p.Port), EnvoyBuilder.LoadAssignment(svc, p, hostname, selected)))
                        .ToArray());
                }
                ep.NamespacePods = nsPods;
            }
            endpoints[svc.Key] = ep;
            foreach (var r in ep.Out)
                loadAssignments[r.Name] = r;
        }
        _services = services;
        _serviceEnvoy = serviceEnvoy;
        _lastServices = state.Services;
        (XdsResourceSet Listeners, XdsResourceSet Routes, XdsResourceSet Clusters) envoySets = servicesUnchanged
            ? _envoySets!.Value
            : (new XdsResourceSet(listeners), new XdsResourceSet(routes), new XdsResourceSet(clusters));
        _envoySets = envoySets;
        _endpoints = endpoints;

        var types = new Dictionary<string, XdsResourceSet>
        {
            [TypeUrls.Address] = new(addresses),
            [TypeUrls.Authorization] = new(authz),
            [TypeUrls.Listener] = envoySets.Listeners,
            [TypeUrls.RouteConfiguration] = envoySets.Routes,
            [TypeUrls.Cluster] = envoySets.Clusters,
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

    /// <summary>
    /// Served pods grouped by namespace (namespaces in order of first appearance), each sorted by name.
    /// Perf: a namespace whose pods are the very objects of the last build, in the same order, gets the last build's
    /// sorted array back (no sort), and the workload and endpoint caches recognise it by reference: one compare
    /// instead of per-pod lookups and, on a 10k-pod mesh, 100k label-selector matches per build.
    /// </summary>
    private Dictionary<string, PodObject[]> PodsByNamespace(ClusterState state)
    {
        var grouped = new Dictionary<string, List<PodObject>>(_podsByNs.Count, StringComparer.Ordinal);
        foreach (var p in state.Pods)
        {
            if (p.Finished || p.PodIPs.IsDefaultOrEmpty)
                continue;
            if (!grouped.TryGetValue(p.Meta.Namespace, out var list))
                grouped[p.Meta.Namespace] = list = [];
            list.Add(p);
        }
        var sorted = new Dictionary<string, PodObject[]>(grouped.Count, StringComparer.Ordinal);
        var unsorted = new Dictionary<string, PodObject[]>(grouped.Count, StringComparer.Ordinal);
        foreach (var (ns, list) in grouped)
        {
            if (_podsByNsUnsorted.TryGetValue(ns, out var lastUnsorted) && SameRefs<PodObject>(lastUnsorted, CollectionsMarshal.AsSpan(list)))
            {
                unsorted[ns] = lastUnsorted;
                sorted[ns] = _podsByNs[ns];
                continue;
            }
            var pods = list.ToArray();
            unsorted[ns] = pods;
            var byName = pods.OrderBy(p => p.Meta.Name, StringComparer.Ordinal).ToArray(); // stable, as before
            sorted[ns] = _podsByNs.TryGetValue(ns, out var last) && SameRefs<PodObject>(last, byName) ? last : byName;
        }
        _podsByNs = sorted;
        _podsByNsUnsorted = unsorted;
        return sorted;
    }

    private Dictionary<ObjectKey, (PodObject Pod, NamespaceObject? Ns, XdsResource Out)> EnrollmentsByKey()
    {
        var byKey = new Dictionary<ObjectKey, (PodObject, NamespaceObject?, XdsResource)>(_enrollments.Length);
        foreach (var e in _enrollments)
        {
            if (e.Pod is not null)
                byKey[e.Pod.Key] = e;
        }
        return byKey;
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
