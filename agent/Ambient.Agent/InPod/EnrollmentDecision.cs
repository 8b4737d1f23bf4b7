namespace Ambient.Agent.InPod;

/// <summary>Whether a pod is ambient. <paramref name="PodUid"/> when known; <paramref name="Reason"/> for logs.</summary>
public sealed record EnrollmentDecision(EnrollmentStatus Status, string PodUid = "", string? Reason = null)
{
    public static EnrollmentDecision Unknown(string? reason = null) => new(EnrollmentStatus.Unknown, "", reason);
}
