using Microsoft.Extensions.Logging;

namespace Ambient.ControlPlane.Discovery;

internal static partial class XdsStreamLog
{
    [LoggerMessage(10, LogLevel.Information, "xDS {Flavour} stream {StreamId} opened by {Peer} (node {NodeId})")]
    public static partial void Opened(ILogger logger, string flavour, long streamId, string peer, string nodeId);

    [LoggerMessage(11, LogLevel.Information, "xDS {Flavour} stream {StreamId} closed: {Reason}")]
    public static partial void Closed(ILogger logger, string flavour, long streamId, string reason);

    [LoggerMessage(12, LogLevel.Warning, "xDS stream {StreamId} (node {NodeId}) NACKed {TypeUrl} nonce {Nonce}: {Error}. The client keeps its last good version; nothing is resent until the resource changes.")]
    public static partial void Nack(ILogger logger, long streamId, string nodeId, string typeUrl, string nonce, string error);

    [LoggerMessage(13, LogLevel.Debug, "xDS stream {StreamId} ignored a request for {TypeUrl} with stale nonce {Nonce}")]
    public static partial void StaleNonce(ILogger logger, long streamId, string typeUrl, string nonce);

    [LoggerMessage(14, LogLevel.Debug, "xDS stream {StreamId} sent {TypeUrl}: {Count} resources, {Removed} removed, nonce {Nonce}")]
    public static partial void Sent(ILogger logger, long streamId, string typeUrl, int count, int removed, string nonce);

    [LoggerMessage(15, LogLevel.Warning, "xDS stream {StreamId} (node {NodeId}) asked for unknown type {TypeUrl}; answering with no resources")]
    public static partial void UnknownType(ILogger logger, long streamId, string nodeId, string typeUrl);

    [LoggerMessage(16, LogLevel.Debug, "xDS stream {StreamId} ACKed {TypeUrl} nonce {Nonce}")]
    public static partial void Ack(ILogger logger, long streamId, string typeUrl, string nonce);
}
