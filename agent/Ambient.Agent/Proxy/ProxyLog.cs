using System.Net;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Proxy;

internal static partial class ProxyLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "{Direction} connection {Source} of pod {Pod} has no original destination: {Error}")]
    public static partial void NoOriginalDestination(ILogger logger, string direction, EndPoint? source, string pod, string error);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "{Direction} connection from {Source} in pod {Pod} to {Destination} rejected: self call to an agent port")]
    public static partial void SelfCall(ILogger logger, string direction, EndPoint? source, string pod, IPEndPoint destination);
}
