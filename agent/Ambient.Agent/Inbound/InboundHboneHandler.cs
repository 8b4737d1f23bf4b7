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
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Inbound;

/// <summary>
/// The HBONE listener's connections (15008, inside the destination pod's netns):
/// <code>
///   accept → TLS 1.3 server with the pod's identity, client certificate required and verified → HTTP/2 server
///     each CONNECT stream: :authority must be this pod's IP:port (else 400) and not an agent port
///       → policy (principal = the peer's certificate identity) deny → 401, counted
///       → socket in the pod's netns, SO_MARK → connect podIP:port; failure → 503
///       → 200 → copy stream ⇄ app socket, re-checked when policy changes → metrics (reporter=destination)
/// </code>
/// One bad tunnel (a failed handshake, garbage frames) ends only itself.
/// </summary>
public sealed class InboundHboneHandler(NetNsExecutor executor, IDestinationResolver resolver, IWorkloadIdentities identities, IInboundAuthorizer authorizer,
    AgentMetrics metrics, AccessLog accessLog, ProxyOptions options, HboneServerOptions serverOptions, ILogger<InboundHboneHandler> logger) : IConnectionHandler
{
    public const string Direction = "inbound-hbone";

    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    public async Task HandleAsync(Socket accepted, CapturedPod pod, CancellationToken cancellationToken)
    {
        var peer = accepted.RemoteEndPoint as IPEndPoint;
        var stream = new NetworkStream(accepted, ownsSocket: true);
        HboneTlsSession? session = null;
        try
        {
            var self = resolver.FindIdentity(pod.Ref);
            if (self is null)
            {
                ProxyLog.TunnelRefused(logger, peer, pod.Ref.Key, "the control plane does not know this pod yet: no identity to present");
                return;
            }
            var certificate = await identities.GetAsync(self.Id, cancellationToken).ConfigureAwait(false);
            using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                handshake.CancelAfter(HandshakeTimeout);
                session = await HboneTls.AuthenticateAsServerAsync(stream, certificate, identities.TrustBundle, handshake.Token).ConfigureAwait(false);
            }
            var streams = new StreamHandler(this, pod, self, peer);
            await HboneServer.ServeAsync(session, streams, serverOptions, logger, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or HboneTlsException or IOException or SocketException or OperationCanceledException or IdentityUnavailableException)
        {
            // A peer that cannot prove an identity we trust never gets a stream; logged once per connection.
            if (!cancellationToken.IsCancellationRequested)
                ProxyLog.TunnelRefused(logger, peer, pod.Ref.Key, e.Message);
            metrics.Tcp(new TcpLabels(TcpLabels.Destination, TcpLabels.Unknown, TcpLabels.Unknown, TcpLabels.Unknown, pod.Ref.Name, pod.Ref.Namespace, "CONNECT",
                SecurityPolicy: TcpLabels.MutualTls)).Fail();
        }
        finally
        {
            if (session is not null)
                await session.Stream.DisposeAsync().ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class StreamHandler(InboundHboneHandler owner, CapturedPod pod, WorkloadIdentity self, IPEndPoint? peer) : IHboneHandler
    {
        public Task HandleAsync(HboneInboundRequest request, CancellationToken cancellationToken) => owner.ServeStreamAsync(request, pod, self, peer, cancellationToken);
    }

    private async Task ServeStreamAsync(HboneInboundRequest request, CapturedPod pod, WorkloadIdentity self, IPEndPoint? peer, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        var principal = request.PeerIdentity;
        var (record, plain) = InboundCaller.Describe(resolver, Direction, pod, peer);
        var labels = plain with { SourcePrincipal = principal.ToString(), DestinationPrincipal = self.Id.ToString(), SecurityPolicy = TcpLabels.MutualTls };
        Socket? upstream = null;
        HboneStream? tunnel = null;
        TcpCounters? counters = null;
        try
        {
            if (!IPEndPoint.TryParse(request.Authority, out var target) || !request.Authority.Contains(':', StringComparison.Ordinal) || !pod.Ips.Contains(target.Address))
            {
                record.Error = $"CONNECT authority '{request.Authority}' is not this pod ({string.Join(", ", pod.Ips)}) at a port";
                await request.RejectAsync(400, cancellationToken).ConfigureAwait(false);
                metrics.Tcp(labels with { ResponseFlags = "DENY" }).Fail();
                return;
            }
            record.DestinationAddress = target;
            if (options.SelfPorts.Contains(target.Port))
            {
                record.Error = $"CONNECT to agent port {target.Port} refused";
                await request.RejectAsync(400, cancellationToken).ConfigureAwait(false);
                metrics.Tcp(labels with { ResponseFlags = "DENY" }).Fail();
                return;
            }

            var verdict = authorizer.Check(pod, target, peer, principal);
            if (!verdict.Allowed)
            {
                record.Error = verdict.Reason;
                ProxyLog.PolicyDenied(logger, Direction, principal.ToString(), pod.Ref.Key, target, verdict.Reason);
                await request.RejectAsync(401, cancellationToken).ConfigureAwait(false);
                metrics.Tcp(labels with { ResponseFlags = "DENY" }).Fail();
                return;
            }

            try
            {
                upstream = await PodUpstream.ConnectAsync(executor, pod.Netns, target, options, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or TimeoutException)
            {
                // ztunnel answers 200 only once the app accepted; a refused app is the client's 503.
                record.Error = $"connect to {target} failed: {e.Message}";
                await request.RejectAsync(503, cancellationToken).ConfigureAwait(false);
                metrics.Tcp(labels with { ResponseFlags = "CONNECT" }).Fail();
                return;
            }

            tunnel = await request.AcceptAsync(null, cancellationToken).ConfigureAwait(false);
            counters = metrics.Tcp(labels);
            counters.Open();
            var live = tunnel;
            var appSocket = upstream;
            using var watch = authorizer.Track(pod, target, peer, principal, reason =>
            {
                record.Error = "closed by a policy change: " + reason;
                live.Abort();
                SocketCopier.Abort(appSocket);
            });
            var result = await HboneRelay.CopyAsync(upstream, tunnel, new RequestResponseCounters(counters, socketIsClient: false), cancellationToken).ConfigureAwait(false);
            record.BytesSent = result.BytesSent;
            record.BytesReceived = result.BytesReceived;
            if (result.Error is not null)
            {
                record.Error ??= result.Error.Message;
                SocketCopier.Abort(upstream);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            record.Error ??= e.Message;
            metrics.Tcp(labels with { ResponseFlags = "CONNECT" }).Fail();
            tunnel?.Abort();
        }
        finally
        {
            counters?.Close();
            upstream?.Dispose();
            if (tunnel is not null)
                await tunnel.DisposeAsync().ConfigureAwait(false);
            record.Duration = Stopwatch.GetElapsedTime(start);
            accessLog.Write(record);
        }
    }
}
