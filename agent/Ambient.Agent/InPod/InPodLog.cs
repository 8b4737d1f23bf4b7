using Microsoft.Extensions.Logging;

namespace Ambient.Agent.InPod;

internal static partial class InPodLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Captured pod {Pod} (netns {Netns}, IPs {Ips}): rules {Backend}, listeners {Listeners}")]
    public static partial void Captured(ILogger logger, string pod, string netns, string ips, string backend, string listeners);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Pod {Pod} is not enrolled ({Reason}); recorded, not captured")]
    public static partial void NotEnrolled(ILogger logger, string pod, string reason);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "Uncaptured pod {Pod} ({Why}); rules removed: {RulesRemoved}")]
    public static partial void Uncaptured(ILogger logger, string pod, string why, bool rulesRemoved);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Capture of pod {Pod} failed; rolled back")]
    public static partial void CaptureFailed(ILogger logger, string pod, Exception e);

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "CNI ADD for pod {Pod} failed: {Message}")]
    public static partial void AddRefused(ILogger logger, string pod, string message);

    [LoggerMessage(EventId = 305, Level = LogLevel.Information, Message = "Ignoring CNI DEL for pod {Pod}: container {Requested} is not the captured sandbox {Current}")]
    public static partial void StaleDel(ILogger logger, string pod, string requested, string current);

    [LoggerMessage(EventId = 306, Level = LogLevel.Information, Message = "Re-adoption: dropping pod {Pod}: netns {Netns} is gone")]
    public static partial void AdoptDropped(ILogger logger, string pod, string netns);

    [LoggerMessage(EventId = 307, Level = LogLevel.Information, Message = "Re-adoption: pod {Pod} rules were {Inspection}; reconciled")]
    public static partial void AdoptReconciled(ILogger logger, string pod, string inspection);

    [LoggerMessage(EventId = 308, Level = LogLevel.Information, Message = "Re-adopted {Captured} captured pod(s), {NotEnrolled} not enrolled, {Pending} pending, dropped {Dropped}")]
    public static partial void Adopted(ILogger logger, int captured, int notEnrolled, int pending, int dropped);

    [LoggerMessage(EventId = 309, Level = LogLevel.Warning, Message = "Reporting redirection {Status} for pod {Pod} failed")]
    public static partial void ReportFailed(ILogger logger, string pod, RedirectionStatus status, Exception e);

    [LoggerMessage(EventId = 310, Level = LogLevel.Warning, Message = "Removing rules of pod {Pod} failed")]
    public static partial void RemoveFailed(ILogger logger, string pod, Exception e);

    [LoggerMessage(EventId = 311, Level = LogLevel.Debug, Message = "Enrollment change for pod {Pod} not on this node; ignored")]
    public static partial void ChangeForUnknownPod(ILogger logger, string pod);
}
