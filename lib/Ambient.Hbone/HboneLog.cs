using System.Net;
using Microsoft.Extensions.Logging;

namespace Ambient.Hbone;

/// <summary>HBONE log messages. Peer misbehaviour is Debug/Information: it says nothing about our code.</summary>
internal static partial class HboneLog
{
    [LoggerMessage(1, LogLevel.Debug, "HBONE connection {ConnectionId} ({Role}) closed: {Reason}")]
    public static partial void ConnectionClosed(ILogger logger, long connectionId, string role, string reason);

    [LoggerMessage(2, LogLevel.Information, "HBONE connection {ConnectionId}: protocol error {Code} ({Message}), sending GOAWAY")]
    public static partial void ProtocolError(ILogger logger, long connectionId, Http2ErrorCode code, string message);

    [LoggerMessage(3, LogLevel.Information, "HBONE connection {ConnectionId}: peer sent GOAWAY {Code}, last stream {LastStreamId}")]
    public static partial void GoAwayReceived(ILogger logger, long connectionId, Http2ErrorCode code, int lastStreamId);

    [LoggerMessage(4, LogLevel.Information, "HBONE connection {ConnectionId}: peer did not answer PING within {Timeout}")]
    public static partial void PingTimeout(ILogger logger, long connectionId, TimeSpan timeout);

    [LoggerMessage(5, LogLevel.Warning, "HBONE handler failed on stream {StreamId} from {Peer}")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, int streamId, string peer);

    [LoggerMessage(6, LogLevel.Debug, "HBONE pool: opened connection {ConnectionId} to {Destination} for {Source}")]
    public static partial void PoolOpened(ILogger logger, long connectionId, IPEndPoint destination, string source);

    [LoggerMessage(7, LogLevel.Debug, "HBONE pool: released connection {ConnectionId} to {Destination} ({Reason})")]
    public static partial void PoolReleased(ILogger logger, long connectionId, IPEndPoint destination, string reason);

    [LoggerMessage(8, LogLevel.Debug, "HBONE server: refused {Method} {Authority} with 400 (only CONNECT is served)")]
    public static partial void NotConnect(ILogger logger, string method, string authority);
}
