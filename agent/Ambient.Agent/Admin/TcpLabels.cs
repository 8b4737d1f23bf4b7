namespace Ambient.Agent.Admin;

/// <summary>
/// The label set of the istio_tcp_* metrics we fill (protocol-facts §h); the rest are constant for plaintext
/// (<c>request_protocol="tcp"</c>, <c>connection_security_policy="unknown"</c>). Unknown values are "unknown".
/// </summary>
public readonly record struct TcpLabels(
    string Reporter,
    string SourceWorkload,
    string SourceWorkloadNamespace,
    string DestinationService,
    string DestinationWorkload,
    string DestinationWorkloadNamespace,
    string ResponseFlags = "-")
{
    public const string Source = "source";
    public const string Destination = "destination";
    public const string Unknown = "unknown";
}
