using System.Net;
using System.Net.Sockets;
using Ambient.Agent.Admin;
using Ambient.Net.Netns;
using Ambient.Net.Sockets;

namespace Ambient.Agent.Proxy;

/// <summary>
/// The half of a proxied connection both directions share: an upstream socket created inside a pod's netns
/// (so it routes as the pod does) with the agent's mark (so the pod's rules never capture it), connected with a
/// timeout, then the copy both ways with its outcome written into the access-log record.
/// HBONE will replace <see cref="ConnectAsync"/> for captured destinations; the relay stays.
/// </summary>
internal static class PodUpstream
{
    public static async Task<Socket> ConnectAsync(NetNsExecutor executor, NetNs netns, IPEndPoint target, ProxyOptions options, CancellationToken cancellationToken)
    {
        var upstream = await executor.RunAsync(netns, () => new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp)).ConfigureAwait(false);
        try
        {
            MeshSockets.SetMark(upstream, options.PacketMark);
            upstream.NoDelay = true;
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connect.CancelAfter(options.ConnectTimeout);
            try
            {
                await upstream.ConnectAsync(target, connect.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"connect to {target} timed out after {options.ConnectTimeout.TotalSeconds:0}s");
            }
            return upstream;
        }
        catch
        {
            upstream.Dispose();
            throw;
        }
    }

    /// <summary>Copies both ways until both sides end; a failure in either direction resets both.</summary>
    public static async Task RelayAsync(Socket downstream, Socket upstream, TcpCounters counters, ConnectionRecord record, CancellationToken cancellationToken)
    {
        downstream.NoDelay = true;
        var result = await SocketCopier.CopyAsync(downstream, upstream, counters, cancellationToken).ConfigureAwait(false);
        record.BytesSent = result.BytesSent;
        record.BytesReceived = result.BytesReceived;
        if (result.Error is not null)
        {
            record.Error = result.Error.Message;
            SocketCopier.Abort(upstream);
            SocketCopier.Abort(downstream);
        }
    }
}
