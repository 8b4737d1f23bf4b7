using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ambient.Agent.Identity;
using Ambient.Agent.InPod;
using Ambient.Agent.Proxy;
using Ambient.Hbone;
using Ambient.Identity;
using Ambient.Net.Netns;

namespace Ambient.Agent.Tunnel;

/// <summary>
/// Opens an HBONE stream from a captured source pod to a captured destination (protocol facts §f, case 4):
/// <code>
///   pool key {src identity, dst identity, dstIP:15008, src IP} → reuse a live tunnel with a free stream, or
///   socket in the source pod's netns (SO_MARK) → TCP dstIP:15008 → TLS 1.3 mTLS (source's cert, expect dst identity)
///   → HTTP/2 CONNECT :authority = dstIP:targetPort + baggage, forwarded, traceparent → 200 → stream
/// </code>
/// A non-200 answer surfaces as <see cref="HboneConnectException"/> (401 policy deny, 503 upstream failure).
/// </summary>
public sealed class HboneConnector(NetNsExecutor executor, IWorkloadIdentities identities, HboneClientPool pool, ProxyOptions options)
{
    public const int HbonePort = 15008;

    public Task<HboneStream> ConnectAsync(CapturedPod pod, WorkloadIdentity source, ResolvedDestination destination, EndPoint? downstreamPeer, CancellationToken cancellationToken)
    {
        var expected = SpiffeId.Parse(destination.HboneIdentity!);
        var tunnel = new IPEndPoint(destination.Endpoint.Address, HbonePort);
        var sourceIp = (downstreamPeer as IPEndPoint)?.Address ?? pod.Ips[0];
        var key = new HbonePoolKey(source.Id, expected.ToString(), tunnel, sourceIp);
        var headers = new List<KeyValuePair<string, string>>(4)
        {
            new("baggage", source.Baggage),
            new("forwarded", $"for=\"{downstreamPeer}\"" + (destination.ServiceHostname is { } host ? $";host={host}" : "")),
            new("traceparent", TraceParent()),
        };
        var request = new HboneRequest(destination.Endpoint.ToString(), headers);
        return pool.ConnectAsync(key, request, ct => OpenTunnelAsync(pod, source.Id, tunnel, expected, ct), cancellationToken);
    }

    private async Task<HboneTlsSession> OpenTunnelAsync(CapturedPod pod, SpiffeId source, IPEndPoint tunnel, SpiffeId expected, CancellationToken cancellationToken)
    {
        var certificate = await identities.GetAsync(source, cancellationToken).ConfigureAwait(false);
        var socket = await PodUpstream.ConnectAsync(executor, pod.Netns, tunnel, options, cancellationToken).ConfigureAwait(false);
        var stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            return await HboneTls.AuthenticateAsClientAsync(stream, certificate, identities.TrustBundle, [expected], cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>W3C trace context, random per connection as ztunnel does: <c>00-&lt;32 hex&gt;-&lt;16 hex&gt;-00</c>.</summary>
    private static string TraceParent()
    {
        Span<byte> id = stackalloc byte[24];
        RandomNumberGenerator.Fill(id);
        return $"00-{Convert.ToHexStringLower(id[..16])}-{Convert.ToHexStringLower(id[16..])}-00";
    }
}
