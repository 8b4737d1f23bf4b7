namespace Ambient.Agent.InPod.Defaults;

/// <summary>
/// Stand-in until State/ (the WorkloadStore) is wired: knows no pod, so every CNI ADD fails closed after the
/// wait. Replace by registering a real <see cref="IEnrollment"/> before <c>AddAmbientAgent</c>.
/// </summary>
public sealed class UnwiredEnrollment : IEnrollment
{
    public event Action<EnrollmentChange>? Changed
    {
        add { }
        remove { }
    }

    public async Task<EnrollmentDecision> WaitForPodAsync(string podNamespace, string podName, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await Task.Delay(timeout, cancellationToken).ConfigureAwait(false);
        return EnrollmentDecision.Unknown("no workload source is wired into this agent");
    }
}
