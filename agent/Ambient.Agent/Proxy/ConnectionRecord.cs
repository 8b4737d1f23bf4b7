using System.Net;

namespace Ambient.Agent.Proxy;

/// <summary>What the access log says about one connection (protocol-facts §h field names).</summary>
public sealed class ConnectionRecord
{
    public required string Direction { get; init; }
    public EndPoint? SourceAddress { get; set; }
    public string? SourceWorkload { get; set; }
    public string? SourceNamespace { get; set; }
    public EndPoint? DestinationAddress { get; set; }
    public string? DestinationService { get; set; }
    public string? DestinationWorkload { get; set; }
    public string? DestinationNamespace { get; set; }
    public long BytesSent { get; set; }
    public long BytesReceived { get; set; }
    public TimeSpan Duration { get; set; }
    public string? Error { get; set; }
}
