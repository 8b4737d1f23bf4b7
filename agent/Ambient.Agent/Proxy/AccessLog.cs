using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Proxy;

/// <summary>
/// One line per connection at close, on the log category <c>access</c> (ztunnel's target): Information when it
/// ended cleanly, Error when it failed (as ztunnel logs failed connections), with §h's field names.
/// </summary>
public sealed partial class AccessLog(ILoggerFactory loggerFactory)
{
    public const string Category = "access";

    private readonly ILogger _logger = loggerFactory.CreateLogger(Category);

    public void Write(ConnectionRecord r)
    {
        string U(string? s) => string.IsNullOrEmpty(s) ? "unknown" : s;
        if (r.Error is null)
        {
            if (_logger.IsEnabled(LogLevel.Information))
            {
                Completed(_logger, r.SourceAddress?.ToString() ?? "-", U(r.SourceWorkload), U(r.SourceNamespace), r.DestinationAddress?.ToString() ?? "-", U(r.DestinationService), U(r.DestinationWorkload), U(r.DestinationNamespace), r.Direction, r.BytesSent, r.BytesReceived, Ms(r.Duration));
            }
        }
        else
        {
            Failed(_logger, r.SourceAddress?.ToString() ?? "-", U(r.SourceWorkload), U(r.SourceNamespace), r.DestinationAddress?.ToString() ?? "-", U(r.DestinationService), U(r.DestinationWorkload), U(r.DestinationNamespace), r.Direction, r.BytesSent, r.BytesReceived, Ms(r.Duration), r.Error);
        }
    }

    private static string Ms(TimeSpan d) => $"{d.TotalMilliseconds:0}ms";

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "connection complete src.addr={SrcAddr} src.workload={SrcWorkload} src.namespace={SrcNamespace} dst.addr={DstAddr} dst.service={DstService} dst.workload={DstWorkload} dst.namespace={DstNamespace} direction={Direction} bytes_sent={BytesSent} bytes_recv={BytesRecv} duration={Duration}")]
    private static partial void Completed(ILogger logger, string srcAddr, string srcWorkload, string srcNamespace, string dstAddr, string dstService, string dstWorkload, string dstNamespace, string direction, long bytesSent, long bytesRecv, string duration);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "connection failed src.addr={SrcAddr} src.workload={SrcWorkload} src.namespace={SrcNamespace} dst.addr={DstAddr} dst.service={DstService} dst.workload={DstWorkload} dst.namespace={DstNamespace} direction={Direction} bytes_sent={BytesSent} bytes_recv={BytesRecv} duration={Duration} error=\"{Error}\"")]
    private static partial void Failed(ILogger logger, string srcAddr, string srcWorkload, string srcNamespace, string dstAddr, string dstService, string dstWorkload, string dstNamespace, string direction, long bytesSent, long bytesRecv, string duration, string error);
}
