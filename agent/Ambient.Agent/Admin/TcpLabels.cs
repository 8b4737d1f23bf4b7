namespace Ambient.Agent.Admin;

/// <summary>
/// The label set of the istio_tcp_* metrics we fill (protocol-facts §h); <c>request_protocol</c> is always "tcp".
/// Unknown values are "unknown"; an HBONE connection carries both principals and <c>connection_security_policy="mutual_tls"</c>.
/// </summary>
public readonly record struct TcpLabels(
    string Reporter,
    string SourceWorkload,
    string SourceWorkloadNamespace,
    string DestinationService,
    string DestinationWorkload,
    string DestinationWorkloadNamespace,
    string ResponseFlags = "-",
    string SourcePrincipal = TcpLabels.Unknown,
    string DestinationPrincipal = TcpLabels.Unknown,
    string SecurityPolicy = TcpLabels.Unknown)
{
    public const string MutualTls = "mutual_tls";
    public const string Source = "source";
    public const string Destination = "destination";
    public const string Unknown = "unknown";
}
