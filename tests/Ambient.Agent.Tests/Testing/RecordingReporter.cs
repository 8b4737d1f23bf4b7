using System.Collections.Concurrent;
using Ambient.Agent.InPod;

namespace Ambient.Agent.Tests.Testing;

public sealed class RecordingReporter : IRedirectionReporter
{
    public ConcurrentQueue<(string Pod, RedirectionStatus Status)> Reports { get; } = new();

    public Task ReportAsync(PodRef pod, RedirectionStatus status, CancellationToken cancellationToken)
    {
        Reports.Enqueue((pod.Key, status));
        return Task.CompletedTask;
    }
}
