using System.Collections.Immutable;

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
            }
        }
        Namespaces = namespaces.ToImmutable();
        Pods = pods.ToImmutable();
        Services = services.ToImmutable();
        ServiceAccounts = accounts.ToImmutable();
        AuthorizationPolicies = authz.ToImmutable();
        PeerAuthentications = peer.ToImmutable();
    }

    public ImmutableDictionary<string, NamespaceObject> Namespaces { get; }
    public ImmutableArray<PodObject> Pods { get; }
    public ImmutableArray<ServiceObject> Services { get; }
    public ImmutableArray<ServiceAccountObject> ServiceAccounts { get; }
    public ImmutableArray<AuthorizationPolicyObject> AuthorizationPolicies { get; }
    public ImmutableArray<PeerAuthenticationObject> PeerAuthentications { get; }

    public int ObjectCount => Namespaces.Count + Pods.Length + Services.Length + ServiceAccounts.Length
        + AuthorizationPolicies.Length + PeerAuthentications.Length;
}
