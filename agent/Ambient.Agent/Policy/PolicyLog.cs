using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Policy;

internal static partial class PolicyLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Connection {Facts} denied: {Reason}")]
    public static partial void Denied(ILogger logger, ConnectionFacts facts, string reason);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Connection #{Id} {Facts} aborted after a policy change (snapshot v{Version}): {Reason}")]
    public static partial void Revoked(ILogger logger, long id, ConnectionFacts facts, string reason, long version);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Connection {Facts} {Reason}; dry-run policies: {DryRun}")]
    public static partial void DryRun(ILogger logger, ConnectionFacts facts, string reason, string? dryRun);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Abort callback of connection #{Id} threw")]
    public static partial void AbortFailed(ILogger logger, long id, Exception e);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Error, Message = "Re-evaluating live connections after a policy change failed")]
    public static partial void RevalidationFailed(ILogger logger, Exception e);
}
