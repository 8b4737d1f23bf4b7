namespace Ambient.Agent.InPod;

/// <summary>
/// Which pods are ambient. Implemented by State/ (the WorkloadStore's pod-enrollment view, fed by the control
/// plane); the data path only reads it.
/// </summary>
public interface IEnrollment
{
    /// <summary>
    /// Decides enrollment for a pod the CNI plugin just announced, waiting up to <paramref name="timeout"/>
    /// for the pod to become known (the ADD can race the control plane). Returns
    /// <see cref="EnrollmentStatus.Unknown"/> on timeout; never throws for an unknown pod.
    /// </summary>
    Task<EnrollmentDecision> WaitForPodAsync(string podNamespace, string podName, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>
    /// Raised when a known pod's enrollment flips, and once per pod after the first full sync if it differs from
    /// what was decided before. May be raised on any thread; handlers must not block.
    /// </summary>
    event Action<EnrollmentChange>? Changed;
}
