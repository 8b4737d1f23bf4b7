using System.Net;
using Ambient.Agent.Admin;
using Ambient.Agent.InPod;
using Ambient.Agent.Proxy;

namespace Ambient.Agent.Inbound;

/// <summary>
/// What both inbound listeners (15006 plaintext, 15008 HBONE) know of a caller before anything is decided: its
/// workload (by source IP, for labels), the access-log record and the destination-side metric labels.
/// </summary>
internal static class InboundCaller
{
    public static (ConnectionRecord Record, TcpLabels Labels) Describe(IDestinationResolver resolver, string direction, CapturedPod pod, IPEndPoint? peer)
    {
        var source = peer is null ? null : resolver.FindWorkload(peer.Address);
        var record = new ConnectionRecord
        {
            Direction = direction,
            SourceAddress = peer,
            SourceWorkload = source?.Name,
            SourceNamespace = source?.Namespace,
            DestinationWorkload = pod.Ref.Name,
            DestinationNamespace = pod.Ref.Namespace,
        };
        var labels = new TcpLabels(TcpLabels.Destination, source?.Name ?? TcpLabels.Unknown, source?.Namespace ?? TcpLabels.Unknown, TcpLabels.Unknown,
            pod.Ref.Name, pod.Ref.Namespace);
        return (record, labels);
    }
}
