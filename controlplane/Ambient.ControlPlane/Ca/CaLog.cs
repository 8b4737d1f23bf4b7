using Microsoft.Extensions.Logging;

namespace Ambient.ControlPlane.Ca;

/// <summary>CA events. Refusals are the caller's doing, so Information/Warning; Error is reserved for our own faults.</summary>
internal static partial class CaLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "CA: issued {Identity} to {Caller} (peer {Peer}), valid {Ttl}, serial {Serial}")]
    public static partial void Issued(ILogger logger, string identity, string caller, string peer, TimeSpan ttl, string serial);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "CA: refused an unauthenticated request from peer {Peer}: {Reason}")]
    public static partial void Unauthenticated(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "CA: refused a CSR from {Caller} (peer {Peer}), requested {Identity}: {Reason}")]
    public static partial void InvalidCsr(ILogger logger, string caller, string peer, string identity, string reason);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "CA: refused {Identity} to {Caller} (peer {Peer}): {Reason}")]
    public static partial void Forbidden(ILogger logger, string identity, string caller, string peer, string reason);

    [LoggerMessage(EventId = 304, Level = LogLevel.Error, Message = "CA: failed to serve {Identity} to {Caller} (peer {Peer})")]
    public static partial void Failed(ILogger logger, Exception e, string identity, string caller, string peer);
}
