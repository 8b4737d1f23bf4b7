namespace Ambient.Agent.InPod;

/// <summary>
/// Publishes a pod's redirection state (Istio's <c>ambient.istio.io/redirection</c> annotation, set on
/// pods/status with a merge patch; removed on uncapture). Implemented by State/ or a Kubernetes/status-dir writer.
/// Called after the state really changed; failures are logged by the caller and never undo a capture.
/// </summary>
public interface IRedirectionReporter
{
    Task ReportAsync(PodRef pod, RedirectionStatus status, CancellationToken cancellationToken);
}
