using Ambient.ControlPlane.Model;
using Ambient.Identity;

namespace Ambient.ControlPlane.Ca;

/// <summary>
/// Istio's impersonation rule (protocol facts §g): a caller gets its own identity; a node caller also gets the identity
/// of any service account that has a (not finished) pod scheduled on its node; nobody gets anything else.
/// </summary>
public static class NodeAuthorizer
{
    /// <summary>Null when allowed; otherwise why not, for the log (never for the caller).</summary>
    public static string? Authorize(CaCaller caller, SpiffeId requested, ClusterState state)
    {
        if (caller.Self == requested)
            return null;
        if (caller.Node is not { } node)
            return $"the caller may only request its own identity {caller.Self}";
        foreach (var pod in state.Pods)
        {
            if (pod.NodeName == node && !pod.Finished && pod.Meta.Namespace == requested.Namespace && pod.ServiceAccount == requested.ServiceAccount)
                return null;
        }
        return $"no pod with service account {requested.ServiceAccount} in namespace {requested.Namespace} runs on node {node}";
    }
}
