namespace Ambient.ControlPlane.Ca;

/// <summary>Kubernetes TokenReview (authentication.k8s.io/v1), behind an interface so tests can fake the API server.</summary>
public interface ITokenReviewer
{
    Task<TokenReviewResult> ReviewAsync(string token, string audience, CancellationToken ct);
}

/// <summary>
/// What the API server said about a token. For a projected service-account token, <see cref="Username"/> is
/// <c>system:serviceaccount:&lt;ns&gt;:&lt;sa&gt;</c> and <see cref="Extra"/> carries
/// <c>authentication.kubernetes.io/pod-name</c> and <c>…/pod-uid</c>.
/// </summary>
public sealed record TokenReviewResult(bool Authenticated, string? Username, IReadOnlyDictionary<string, IReadOnlyList<string>> Extra, string? Error = null)
{
    public static TokenReviewResult Rejected(string error) => new(false, null, new Dictionary<string, IReadOnlyList<string>>(), error);
}
