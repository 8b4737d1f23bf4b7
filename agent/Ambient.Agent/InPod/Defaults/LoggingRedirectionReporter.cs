using Microsoft.Extensions.Logging;

namespace Ambient.Agent.InPod.Defaults;

/// <summary>Reporter until a Kubernetes/status writer is wired: logs the annotation it would set.</summary>
public sealed partial class LoggingRedirectionReporter(ILogger<LoggingRedirectionReporter> logger) : IRedirectionReporter
{
    public Task ReportAsync(PodRef pod, RedirectionStatus status, CancellationToken cancellationToken)
    {
        Reported(logger, pod.Key, status);
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 340, Level = LogLevel.Information, Message = "Pod {Pod}: ambient.istio.io/redirection → {Status}")]
    private static partial void Reported(ILogger logger, string pod, RedirectionStatus status);
}
