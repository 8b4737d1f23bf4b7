using System.Collections.Concurrent;
using Ambient.Agent.InPod;

namespace Ambient.Agent.Tests.Testing;

/// <summary>In-memory <see cref="IEnrollment"/> for tests: set decisions, raise changes.</summary>
public sealed class FakeEnrollment : IEnrollment
{
    private readonly ConcurrentDictionary<string, EnrollmentDecision> _pods = new();

    public event Action<EnrollmentChange>? Changed;

    public void Set(string ns, string name, bool enrolled, string uid = "")
    {
        _pods[ns + "/" + name] = new EnrollmentDecision(enrolled ? EnrollmentStatus.Enrolled : EnrollmentStatus.NotEnrolled, uid);
    }

    /// <summary>Flips a pod and raises <see cref="Changed"/> as State/ would.</summary>
    public void Change(string ns, string name, bool enrolled, string uid = "")
    {
        Set(ns, name, enrolled, uid);
        Changed?.Invoke(new EnrollmentChange(ns, name, uid, enrolled));
    }

    public async Task<EnrollmentDecision> WaitForPodAsync(string podNamespace, string podName, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_pods.TryGetValue(podNamespace + "/" + podName, out var d))
            {
                return d;
            }
            if (DateTime.UtcNow >= deadline)
            {
                return EnrollmentDecision.Unknown("test: pod not set");
            }
            await Task.Delay(10, cancellationToken);
        }
    }
}
