using Ambient.ControlPlane.Model;
using Ambient.Xds.Protos.Security;

namespace Ambient.ControlPlane.Discovery;

/// <summary>
/// PeerAuthentication → what node agents enforce, as istiod does it (pilot/pkg/serviceregistry/ambient/
/// authorization.go, policies.go):
/// <code>
///   any PeerAuthentication exists   → serve &lt;root&gt;/istio_converted_static_strict: DENY if no principal (plaintext)
///   effective mode STRICT           → the workload lists that policy in authorization_policies
///   workload policy with port-level → serve &lt;ns&gt;/converted_peer_authentication_&lt;name&gt; (DENY, per-port
///     exceptions)                      and list it instead of the static policy
/// </code>
/// The effective mode is resolved mesh (root namespace, no selector) → namespace (no selector) → workload
/// (selector), an UNSET level inheriting. When several policies compete at one level istiod takes the oldest;
/// manifests carry no creation time, so the first by name wins here.
/// </summary>
internal static class PeerAuthenticationBuilder
{
    public const string StaticStrictName = "istio_converted_static_strict";
    public const string ConvertedPrefix = "converted_peer_authentication_";

    public static string StaticStrictResourceName(MeshOptions mesh) => $"{mesh.RootNamespace}/{StaticStrictName}";

    public static string ConvertedResourceName(PeerAuthenticationObject pa) => $"{pa.Meta.Namespace}/{ConvertedPrefix}{pa.Meta.Name}";

    public static Authorization StaticStrict(MeshOptions mesh) => new()
    {
        Name = StaticStrictName,
        Namespace = mesh.RootNamespace,
        Scope = Scope.WorkloadSelector,
        Action = Ambient.Xds.Protos.Security.Action.Deny,
        Groups = { new Group { Rules = { NoPrincipal() } } },
    };

    private static Rules NoPrincipal() => new()
    {
        Matches = { new Match { NotPrincipals = { new StringMatch { Presence = new Google.Protobuf.WellKnownTypes.Empty() } } } },
    };

    private static bool IsNamespaceWide(PeerAuthenticationObject pa) => pa.Selector is null or { Count: 0 };

    /// <summary>The mesh-wide (root namespace) and namespace-wide policies: the oldest of each, by name here.</summary>
    private static (PeerAuthenticationObject? Ns, PeerAuthenticationObject? Root) Parents(
        MeshOptions mesh, string ns, IReadOnlyList<PeerAuthenticationObject> all)
    {
        PeerAuthenticationObject? nsPol = null, rootPol = null;
        foreach (var p in all.Where(IsNamespaceWide).OrderBy(p => p.Meta.Name, StringComparer.Ordinal))
        {
            if (p.Meta.Namespace == mesh.RootNamespace)
                rootPol ??= p;
            else if (p.Meta.Namespace == ns)
                nsPol ??= p;
        }
        return (nsPol, rootPol);
    }

    /// <summary>The converted form of a workload policy with port-level modes, or null when none is needed (convertPeerAuthentication).</summary>
    public static Authorization? Convert(MeshOptions mesh, PeerAuthenticationObject pa, IReadOnlyList<PeerAuthenticationObject> all)
    {
        if (pa.Meta.Namespace == mesh.RootNamespace || pa.Selector is null || pa.PortLevel.Count == 0)
            return null;
        var (nsPol, rootPol) = Parents(mesh, pa.Meta.Namespace, all);
        var mode = pa.Mode;
        var rules = new List<Rules>();
        var groups = new List<Group>();
        if (mode == MutualTlsMode.Strict)
            rules.Add(NoPrincipal());

        var foundNonStrictPort = false;
        foreach (var (port, portMode) in pa.PortLevel.OrderBy(kv => kv.Key))
        {
            switch (portMode)
            {
                case MutualTlsMode.Strict:
                    // Already enforced by the parent (this policy STRICT, or UNSET under a STRICT namespace or mesh).
                    if (mode == MutualTlsMode.Strict
                        || mode == MutualTlsMode.Unset && nsPol is not null && nsPol.Mode == MutualTlsMode.Strict
                        || (nsPol is null || nsPol.Mode == MutualTlsMode.Unset) && rootPol is not null && rootPol.Mode == MutualTlsMode.Strict)
                        continue;
                    // Groups are ORed: one per STRICT port.
                    var strictPort = new Match { NotPrincipals = { new StringMatch { Presence = new Google.Protobuf.WellKnownTypes.Empty() } } };
                    strictPort.DestinationPorts.Add((uint)port);
                    groups.Add(new Group { Rules = { new Rules { Matches = { strictPort } } } });
                    break;
                case MutualTlsMode.Permissive or MutualTlsMode.Disable:
                    if (mode is MutualTlsMode.Permissive or MutualTlsMode.Disable)
                        continue;
                    if (mode == MutualTlsMode.Unset
                        && (nsPol is not null && nsPol.Mode != MutualTlsMode.Strict
                            || nsPol is null && rootPol is not null && rootPol.Mode != MutualTlsMode.Strict
                            || nsPol is null && rootPol is null))
                        continue;
                    foundNonStrictPort = true;
                    // Exempt the port from the deny: "not this port" must hold too.
                    var exempt = new Match();
                    exempt.NotDestinationPorts.Add((uint)port);
                    rules.Add(new Rules { Matches = { exempt } });
                    break;
            }
        }

        if (mode == MutualTlsMode.Strict && !foundNonStrictPort)
            return null; // plain STRICT: the static policy covers it
        if (rules.Count == 0 && groups.Count == 0)
            return null;

        // A STRICT parent must be merged in, since the static policy is not listed next to the exceptions
        // (any matching DENY denies, so static + exception would still deny the exempt port).
        var mergeStrict = rootPol is not null && rootPol.Mode == MutualTlsMode.Strict
                && (nsPol is null || nsPol.Mode is MutualTlsMode.Unset or MutualTlsMode.Strict)
            || nsPol is not null && nsPol.Mode == MutualTlsMode.Strict;
        if (mergeStrict && foundNonStrictPort)
            rules.Add(NoPrincipal());
        if (rules.Count > 0)
            groups.Add(new Group { Rules = { rules } });

        var a = new Authorization
        {
            Name = ConvertedPrefix + pa.Meta.Name,
            Namespace = pa.Meta.Namespace,
            Scope = Scope.WorkloadSelector,
            Action = Ambient.Xds.Protos.Security.Action.Deny,
        };
        a.Groups.Add(groups);
        return a;
    }

    /// <summary>The PeerAuthentication-derived policy names a workload lists, sorted (convertedSelectorPeerAuthentications).</summary>
    public static IEnumerable<string> KeysFor(MeshOptions mesh, PodObject pod, IReadOnlyList<PeerAuthenticationObject> all)
    {
        PeerAuthenticationObject? meshPol = null, nsPol = null, workloadPol = null;
        foreach (var p in all.OrderBy(p => p.Meta.Name, StringComparer.Ordinal))
        {
            if (p.Meta.Namespace == mesh.RootNamespace)
            {
                // Selector policies in the root namespace are not workload policies (istiod ignores them).
                if (IsNamespaceWide(p))
                    meshPol ??= p;
                continue;
            }
            if (p.Meta.Namespace != pod.Meta.Namespace)
                continue;
            if (IsNamespaceWide(p))
                nsPol ??= p;
            else if (Selectors.Matches(p.Selector!, pod.Meta.Labels))
                workloadPol ??= p;
        }

        var strict = false;
        string? portLevelKey = null;
        if (meshPol is not null)
            strict = meshPol.Mode == MutualTlsMode.Strict;
        if (nsPol is not null && nsPol.Mode != MutualTlsMode.Unset)
            strict = nsPol.Mode == MutualTlsMode.Strict;
        if (workloadPol is not null)
        {
            if (workloadPol.Mode == MutualTlsMode.Strict)
                strict = true;
            if (workloadPol.Mode is MutualTlsMode.Permissive or MutualTlsMode.Disable)
                strict = false;
            if (workloadPol.PortLevel.Count > 0)
            {
                var ports = workloadPol.PortLevel.Values;
                switch (workloadPol.Mode)
                {
                    case MutualTlsMode.Strict:
                        if (ports.Any(m => m is MutualTlsMode.Permissive or MutualTlsMode.Disable))
                        {
                            portLevelKey = ConvertedResourceName(workloadPol);
                            strict = false; // the converted policy carries the STRICT default itself
                        }
                        break;
                    case MutualTlsMode.Permissive or MutualTlsMode.Disable:
                        if (ports.Any(m => m == MutualTlsMode.Strict))
                            portLevelKey = ConvertedResourceName(workloadPol);
                        break;
                    default: // UNSET: inherits
                        if (strict)
                        {
                            if (ports.Any(m => m == MutualTlsMode.Permissive))
                            {
                                portLevelKey = ConvertedResourceName(workloadPol);
                                strict = false;
                            }
                        }
                        else if (ports.Any(m => m == MutualTlsMode.Strict))
                        {
                            portLevelKey = ConvertedResourceName(workloadPol);
                        }
                        break;
                }
            }
        }

        var keys = new List<string>(2);
        if (strict)
            keys.Add(StaticStrictResourceName(mesh));
        if (portLevelKey is not null)
            keys.Add(portLevelKey);
        keys.Sort(StringComparer.Ordinal);
        return keys;
    }
}
