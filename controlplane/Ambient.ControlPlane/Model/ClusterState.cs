using System.Collections.Immutable;
using System.Runtime.CompilerServices;

namespace Ambient.ControlPlane.Model;

/// <summary>
/// One consistent view of every object the mesh reads, merged from all sources.
/// Immutable: the snapshot builder reads it while sources keep changing the store.
/// </summary>
public sealed class ClusterState
{
    public static readonly ClusterState Empty = new([]);

    public ClusterState(IEnumerable<KubeObject> objects)
    {
        var namespaces = ImmutableDictionary.CreateBuilder<string, NamespaceObject>(StringComparer.Ordinal);
        var pods = ImmutableArray.CreateBuilder<PodObject>();
        var services = ImmutableArray.CreateBuilder<ServiceObject>();
        var accounts = ImmutableArray.CreateBuilder<ServiceAccountObject>();
        var authz = ImmutableArray.CreateBuilder<AuthorizationPolicyObject>();
        var peer = ImmutableArray.CreateBuilder<PeerAuthenticationObject>();
        var podPatches = ImmutableArray.CreateBuilder<PodAnnotationsObject>();
        foreach (var o in objects)
        {
            switch (o)
            {
                case NamespaceObject n: namespaces[n.Meta.Name] = n; break;
                case PodObject p: pods.Add(p); break;
                case ServiceObject s: services.Add(s); break;
                case ServiceAccountObject a: accounts.Add(a); break;
                case AuthorizationPolicyObject ap: authz.Add(ap); break;
                case PeerAuthenticationObject pa: peer.Add(pa); break;
                case PodAnnotationsObject pp: podPatches.Add(pp); break;
            }
        }
        if (podPatches.Count > 0)
        {
            // Lay each PodAnnotations over the pod of the same namespace/name (the agent's redirection feedback in
            // file mode). A patch without a pod waits, unused, until the pod appears.
            var byPod = new Dictionary<(string Ns, string Name), PodAnnotationsObject>();
            foreach (var p in podPatches)
                byPod[(p.Meta.Namespace, p.Meta.Name)] = p;
            for (var i = 0; i < pods.Count; i++)
            {
                if (byPod.TryGetValue((pods[i].Meta.Namespace, pods[i].Meta.Name), out var patch))
                    pods[i] = WithAnnotations(pods[i], patch);
            }
        }
        Namespaces = namespaces.ToImmutable();
        Pods = pods.ToImmutable();
        Services = services.ToImmutable();
        ServiceAccounts = accounts.ToImmutable();
        AuthorizationPolicies = authz.ToImmutable();
        PeerAuthentications = peer.ToImmutable();
        PodAnnotations = podPatches.ToImmutable();
    }

    private sealed record Merged(PodAnnotationsObject Patch, PodObject Pod);

    // pod → (patch, merged pod). Builds reuse resources by object reference, so an unchanged pod with an unchanged
    // patch must give the same merged instance every time; the table lets go of entries with their pods.
    private static readonly ConditionalWeakTable<PodObject, Merged> s_merged = new();

    /// <summary>The pod with <paramref name="patch"/>'s annotations merged over its own; the same instance for the same inputs.</summary>
    public static PodObject WithAnnotations(PodObject pod, PodAnnotationsObject patch)
    {
        if (s_merged.TryGetValue(pod, out var m) && ReferenceEquals(m.Patch, patch))
            return m.Pod;
        var merged = pod with { Meta = pod.Meta with { Annotations = pod.Meta.Annotations.SetItems(patch.Meta.Annotations) } };
        s_merged.AddOrUpdate(pod, new Merged(patch, merged));
        return merged;
    }

    public ImmutableDictionary<string, NamespaceObject> Namespaces { get; }
    public ImmutableArray<PodObject> Pods { get; }
    public ImmutableArray<ServiceObject> Services { get; }
    public ImmutableArray<ServiceAccountObject> ServiceAccounts { get; }
    public ImmutableArray<AuthorizationPolicyObject> AuthorizationPolicies { get; }
    public ImmutableArray<PeerAuthenticationObject> PeerAuthentications { get; }

    /// <summary>Annotation patches from the node agent (file mode); already applied to <see cref="Pods"/>.</summary>
    public ImmutableArray<PodAnnotationsObject> PodAnnotations { get; }

    public int ObjectCount => Namespaces.Count + Pods.Length + Services.Length + ServiceAccounts.Length
        + AuthorizationPolicies.Length + PeerAuthentications.Length + PodAnnotations.Length;
}
