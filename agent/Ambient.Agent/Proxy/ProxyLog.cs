using System.Net;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Proxy;

internal static partial class ProxyLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "{Direction} connection {Source} of pod {Pod} has no original destination: {Error}")]
    public static partial void NoOriginalDestination(ILogger logger, string direction, EndPoint? source, string pod, string error);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "{Direction} connection from {Source} in pod {Pod} to {Destination} rejected: self call to an agent port")]
    public static partial void SelfCall(ILogger logger, string direction, EndPoint? source, string pod, IPEndPoint destination);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "HBONE tunnel from {Source} to pod {Pod} refused: {Reason}")]
    public static partial void TunnelRefused(ILogger logger, EndPoint? source, string pod, string reason);

    [LoggerMessage(EventId = 203, Level = LogLevel.Information, Message = "{Direction} connection from {Principal} to pod {Pod} at {Destination} denied: {Reason}")]
    public static partial void PolicyDenied(ILogger logger, string direction, string principal, string pod, IPEndPoint destination, string reason);
}
