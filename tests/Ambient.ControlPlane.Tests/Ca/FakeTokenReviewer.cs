using Ambient.ControlPlane.Ca;

namespace Ambient.ControlPlane.Tests.Ca;

/// <summary>A TokenReview API: known tokens map to service accounts and pods, anything else is rejected.</summary>
internal sealed class FakeTokenReviewer : ITokenReviewer
{
    private readonly Dictionary<string, TokenReviewResult> _tokens = new(StringComparer.Ordinal);

    public List<string> Audiences { get; } = [];

    public FakeTokenReviewer Add(string token, string ns, string serviceAccount, string? podName = null, string? podUid = null)
    {
        var extra = new Dictionary<string, IReadOnlyList<string>>();
        if (podName is not null)
            extra["authentication.kubernetes.io/pod-name"] = [podName];
        if (podUid is not null)
            extra["authentication.kubernetes.io/pod-uid"] = [podUid];
        _tokens[token] = new TokenReviewResult(true, $"system:serviceaccount:{ns}:{serviceAccount}", extra);
        return this;
    }

    public Task<TokenReviewResult> ReviewAsync(string token, string audience, CancellationToken ct)
    {
        lock (Audiences)
            Audiences.Add(audience);
        return Task.FromResult(_tokens.TryGetValue(token, out var r) ? r : TokenReviewResult.Rejected("unknown token"));
    }
}
