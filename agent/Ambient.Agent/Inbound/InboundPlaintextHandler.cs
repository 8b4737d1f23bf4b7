using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ambient.Agent.Admin;
using Ambient.Agent.InPod;
using Ambient.Agent.Proxy;
using Ambient.Net.Netns;
using Ambient.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Inbound;

/// <summary>
/// The inbound plaintext listener's connections (15006, inside the destination pod's netns):
/// <code>
///   accept → SO_ORIGINAL_DST = podIP:port → self-call port? reject
///          → policy with no principal (STRICT PeerAuthentication denies here) deny → reset, counted
///          → socket created in the pod's netns, SO_MARK 1337 → connect podIP:port (via lo, not redirected)
///          → copy both ways → metrics (reporter=destination) + access log
/// </code>
/// The app sees the agent's connection from its own pod IP (no source spoofing yet: that needs IP_TRANSPARENT,
/// which the mark 0x111 / table 100 rules already prepare for).
/// </summary>
public sealed class InboundPlaintextHandler(NetNsExecutor executor, IDestinationResolver resolver, IInboundAuthorizer authorizer, AgentMetrics metrics, AccessLog accessLog, ProxyOptions options, ILogger<InboundPlaintextHandler> logger) : IConnectionHandler
{
    public const string Direction = "inbound";

    public async Task HandleAsync(Socket downstream, CapturedPod pod, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        var peer = downstream.RemoteEndPoint as IPEndPoint;
        var (record, labels) = InboundCaller.Describe(resolver, Direction, pod, peer);
        Socket? upstream = null;
        TcpCounters? counters = null;
        try
        {
            IPEndPoint target;
            try
            {
                target = MeshSockets.GetOriginalDestination(downstream);
            }
            catch (SocketException e)
            {
                ProxyLog.NoOriginalDestination(logger, Direction, peer, pod.Ref.Key, e.Message);
                record.Error = "no original destination (connection was not redirected): " + e.Message;
                metrics.Tcp(labels).Fail();
                return;
            }
            record.DestinationAddress = target;
            if (options.SelfPorts.Contains(target.Port))
            {
                ProxyLog.SelfCall(logger, Direction, peer, pod.Ref.Key, target);
                record.Error = $"self call to agent port {target.Port} rejected";
                metrics.Tcp(labels).Fail();
                return;
            }

            var verdict = authorizer.Check(pod, target, peer, principal: null);
            if (!verdict.Allowed)
            {
                record.Error = verdict.Reason;
                ProxyLog.PolicyDenied(logger, Direction, "plaintext " + peer, pod.Ref.Key, target, verdict.Reason);
                metrics.Tcp(labels with { ResponseFlags = "DENY" }).Fail();
                SocketCopier.Abort(downstream);
                return;
            }

            counters = metrics.Tcp(labels);
            counters.Open();
            upstream = await PodUpstream.ConnectAsync(executor, pod.Netns, target, options, cancellationToken).ConfigureAwait(false);
            var app = upstream;
            using var watch = authorizer.Track(pod, target, peer, null, reason =>
            {
                record.Error = "closed by a policy change: " + reason;
                SocketCopier.Abort(downstream);
                SocketCopier.Abort(app);
            });
            await PodUpstream.RelayAsync(downstream, upstream, counters, record, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or TimeoutException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            record.Error = e.Message;
            metrics.Tcp(labels with { ResponseFlags = "CONNECT" }).Fail();
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
}
