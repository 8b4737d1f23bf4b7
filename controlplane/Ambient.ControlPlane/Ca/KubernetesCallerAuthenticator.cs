using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Ambient.Identity;

namespace Ambient.ControlPlane.Ca;

/// <summary>
/// Kubernetes mode, as istiod: a TokenReview names the caller's service account and pod. A caller whose account is a
/// trusted node account (ztunnel's) becomes a node caller — its pod must exist in our view with the same UID and
/// account, and its node is the pod's node. Any other caller may only request its own identity.
/// </summary>
public sealed class KubernetesCallerAuthenticator(ITokenReviewer reviewer, ConfigStore store, CaOptions options, MeshOptions mesh) : ICaCallerAuthenticator
{
    private const string AccountPrefix = "system:serviceaccount:";
    private const string PodNameKey = "authentication.kubernetes.io/pod-name";
    private const string PodUidKey = "authentication.kubernetes.io/pod-uid";

    public async ValueTask<CaCaller?> AuthenticateAsync(string token, CancellationToken ct)
    {
        var review = await reviewer.ReviewAsync(token, options.TokenAudience, ct).ConfigureAwait(false);
        if (!review.Authenticated || review.Username is not { } user || !user.StartsWith(AccountPrefix, StringComparison.Ordinal))
            return null;
        var parts = user[AccountPrefix.Length..].Split(':');
        if (parts.Length != 2 || !SpiffeId.IsKubernetesName(parts[0]) || !SpiffeId.IsKubernetesName(parts[1]))
            return null;
        var (ns, sa) = (parts[0], parts[1]);
        var self = SpiffeId.Create(mesh.TrustDomain, ns, sa);
        var podName = review.Extra.TryGetValue(PodNameKey, out var n) && n.Count == 1 ? n[0] : null;
        var podUid = review.Extra.TryGetValue(PodUidKey, out var u) && u.Count == 1 ? u[0] : null;
        var description = podName is null ? $"service account {ns}/{sa}" : $"pod {ns}/{podName} (service account {ns}/{sa})";
        if (!options.TrustedNodeAccounts.Contains($"{ns}/{sa}") || podName is null || podUid is null)
            return new CaCaller(description, null, self);
        var pod = store.Snapshot().Pods.FirstOrDefault(p => p.Meta.Namespace == ns && p.Meta.Name == podName);
        if (pod is null || pod.Meta.Uid != podUid || pod.ServiceAccount != sa || pod.NodeName.Length == 0)
            return new CaCaller(description + ", not a known pod on any node", null, self);
        return new CaCaller($"{description} on node {pod.NodeName}", pod.NodeName, self);
    }
}
