using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using Ambient.Agent.Admin;
using Ambient.Agent.Identity;
using Ambient.Agent.InPod;
using Ambient.Agent.Proxy;
using Ambient.Agent.Tunnel;
using Ambient.Hbone;
using Ambient.Net.Netns;
using Ambient.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Outbound;

/// <summary>
/// The outbound listener's connections (15001, inside the source pod's netns), plaintext for now:
/// <code>
///   accept → SO_ORIGINAL_DST → self-call? reject → resolver (VIP → endpoint | passthrough)
///          → socket created in the source pod's netns, SO_MARK 1337 (skips the rules) → connect (10 s)
///          → copy both ways → metrics (reporter=source) + access log
/// </code>
/// A destination captured by a node agent (the resolver names its identity) is reached over HBONE instead:
/// <see cref="HboneConnector"/> replaces the plain connect and <see cref="HboneRelay"/> the socket copy. Without a CA
/// (<see cref="IWorkloadIdentities.Enabled"/> false: a development setup) every destination gets plain TCP.
/// </summary>
public sealed class OutboundHandler(NetNsExecutor executor, IDestinationResolver resolver, IWorkloadIdentities identities, HboneConnector hbone,
    AgentMetrics metrics, AccessLog accessLog, ProxyOptions options, ILogger<OutboundHandler> logger) : IConnectionHandler
{
    public const string Direction = "outbound";

    public async Task HandleAsync(Socket downstream, CapturedPod pod, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        var record = new ConnectionRecord
        {
            Direction = Direction,
            SourceAddress = downstream.RemoteEndPoint,
            SourceWorkload = pod.Ref.Name,
            SourceNamespace = pod.Ref.Namespace,
        };
        Socket? upstream = null;
        TcpCounters? counters = null;
        try
        {
            IPEndPoint original;
            try
            {
                original = MeshSockets.GetOriginalDestination(downstream);
            }
            catch (SocketException e)
            {
                ProxyLog.NoOriginalDestination(logger, Direction, downstream.RemoteEndPoint, pod.Ref.Key, e.Message);
                record.Error = "no original destination (connection was not redirected): " + e.Message;
                Fail(pod, null, "-");
                return;
            }
            record.DestinationAddress = original;

            if (options.SelfPorts.Contains(original.Port) && (IPAddress.IsLoopback(original.Address) || pod.Ips.Contains(original.Address)))
            {
                ProxyLog.SelfCall(logger, Direction, downstream.RemoteEndPoint, pod.Ref.Key, original);
                record.Error = $"self call to agent port {original.Port} rejected";
                Fail(pod, null, "-");
                return;
            }

            var dest = resolver.Resolve(original, pod.Ref);
            record.DestinationService = dest.ServiceHostname;
            record.DestinationWorkload = dest.WorkloadName;
            record.DestinationNamespace = dest.WorkloadNamespace;
            record.DestinationAddress = dest.Endpoint;
            var labels = Labels(pod, dest, "-");
            if (dest.Kind == DestinationKind.NoHealthyEndpoint)
            {
                record.Error = $"no healthy endpoint for {dest.ServiceHostname ?? original.ToString()}";
                metrics.Tcp(labels with { ResponseFlags = "CONNECT" }).Fail();
                return;
            }

            if (dest.HboneIdentity is not null && identities.Enabled)
            {
                await RelayOverHboneAsync(downstream, pod, dest, record, cancellationToken).ConfigureAwait(false);
                return;
            }

            counters = metrics.Tcp(labels);
            counters.Open();
            upstream = await PodUpstream.ConnectAsync(executor, pod.Netns, dest.Endpoint, options, cancellationToken).ConfigureAwait(false);
            await PodUpstream.RelayAsync(downstream, upstream, counters, record, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or TimeoutException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // Connect failures and netns trouble blame the upstream side: response_flags CONNECT.
            record.Error = e.Message;
            metrics.Tcp(Labels(pod, null, "CONNECT")).Fail();
            SocketCopier.Abort(downstream);
        }
        finally
        {
            counters?.Close();
            upstream?.Dispose();
            downstream.Dispose();
            record.Duration = Stopwatch.GetElapsedTime(start);
            accessLog.Write(record);
        }
    }

    private async Task RelayOverHboneAsync(Socket downstream, CapturedPod pod, ResolvedDestination dest, ConnectionRecord record, CancellationToken cancellationToken)
    {
        var source = resolver.FindIdentity(pod.Ref);
        var labels = Labels(pod, dest, "-") with { SecurityPolicy = TcpLabels.MutualTls, DestinationPrincipal = dest.HboneIdentity! };
        if (source is null)
        {
            record.Error = $"source pod {pod.Ref.Key} is not known to the control plane: no identity to present";
            metrics.Tcp(labels with { ResponseFlags = "CONNECT" }).Fail();
            SocketCopier.Abort(downstream);
            return;
        }
        labels = labels with { SourcePrincipal = source.Id.ToString() };
        HboneStream stream;
        try
        {
            stream = await hbone.ConnectAsync(pod, source, dest, downstream.RemoteEndPoint, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HboneConnectException or IOException or SocketException or TimeoutException or AuthenticationException or IdentityUnavailableException)
        {
            // 401: the destination's policy refused us; anything else is a failure to reach it.
            record.Error = "HBONE to " + dest.Endpoint + " failed: " + e.Message;
            metrics.Tcp(labels with { ResponseFlags = e is HboneConnectException { Status: 401 } ? "UAEX" : "CONNECT" }).Fail();
            SocketCopier.Abort(downstream);
            return;
        }
        var counters = metrics.Tcp(labels);
        counters.Open();
        try
        {
            downstream.NoDelay = true;
            var result = await HboneRelay.CopyAsync(downstream, stream, new RequestResponseCounters(counters), cancellationToken).ConfigureAwait(false);
            record.BytesSent = result.BytesSent;
            record.BytesReceived = result.BytesReceived;
            if (result.Error is not null)
            {
                record.Error = result.Error.Message;
                SocketCopier.Abort(downstream);
            }
        }
        finally
        {
            counters.Close();
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Fail(CapturedPod pod, ResolvedDestination? dest, string flags) => metrics.Tcp(Labels(pod, dest, flags)).Fail();

    private static TcpLabels Labels(CapturedPod pod, ResolvedDestination? dest, string flags) => new(
        TcpLabels.Source,
        pod.Ref.Name,
        pod.Ref.Namespace,
        dest?.ServiceHostname ?? TcpLabels.Unknown,
        dest?.WorkloadName ?? TcpLabels.Unknown,
        dest?.WorkloadNamespace ?? TcpLabels.Unknown,
        flags);
}
