using k8s;
using k8s.Models;

namespace Ambient.ControlPlane.Ca;

/// <summary>TokenReview through KubernetesClient, with the same kubeconfig / in-cluster configuration as the source.</summary>
public sealed class KubernetesTokenReviewer(IKubernetes client) : ITokenReviewer, IDisposable
{
    public static KubernetesTokenReviewer Create(string? kubeconfig)
    {
        var config = kubeconfig is not null
            ? KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig)
            : KubernetesClientConfiguration.InClusterConfig();
        return new KubernetesTokenReviewer(new k8s.Kubernetes(config));
    }

    public async Task<TokenReviewResult> ReviewAsync(string token, string audience, CancellationToken ct)
    {
        var review = new V1TokenReview { Spec = new V1TokenReviewSpec { Token = token, Audiences = [audience] } };
        var result = await client.AuthenticationV1.CreateTokenReviewAsync(review, cancellationToken: ct).ConfigureAwait(false);
        var status = result.Status;
        if (status is null || status.Authenticated != true)
            return TokenReviewResult.Rejected(status?.Error ?? "not authenticated");
        if (status.Audiences is { } audiences && !audiences.Contains(audience))
            return TokenReviewResult.Rejected($"the token is not for audience {audience}");
        var extra = status.User?.Extra?.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)[.. kv.Value])
            ?? new Dictionary<string, IReadOnlyList<string>>();
        return new TokenReviewResult(true, status.User?.Username, extra);
    }

    public void Dispose() => client.Dispose();
}
