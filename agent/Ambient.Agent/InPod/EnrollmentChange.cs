namespace Ambient.Agent.InPod;

/// <summary>A pod's enrollment flipped (e.g. its namespace gained or lost <c>istio.io/dataplane-mode=ambient</c>).</summary>
public sealed record EnrollmentChange(string PodNamespace, string PodName, string PodUid, bool Enrolled);
