namespace Ambient.Agent.InPod;

public enum EnrollmentStatus
{
    /// <summary>The pod is not (yet) known: the CNI ADD fails so the runtime retries (fail closed).</summary>
    Unknown,

    /// <summary>The pod is ambient (Istio's enablement selectors match) and must be captured.</summary>
    Enrolled,

    /// <summary>The pod is known and not ambient (or excluded: host network, sidecar, excluded namespace).</summary>
    NotEnrolled,
}
