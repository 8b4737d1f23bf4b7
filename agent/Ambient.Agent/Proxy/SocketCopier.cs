using System.Buffers;
using System.Net.Sockets;
using Ambient.Agent.Admin;

namespace Ambient.Agent.Proxy;

/// <summary>
/// Copies a connection both ways until both directions end — the data path's hot loop.
/// <code>
///   downstream ──request──▶ upstream      each direction:  zero-byte read (no buffer while idle)
///   downstream ◀─response── upstream                       → rent buffer → read → write all → return buffer
///                                                          EOF → shutdown(SEND) on the other socket (half-close)
/// </code>
/// Buffers come from <see cref="ArrayPool{T}.Shared"/> and are held only between a readiness signal and the end
/// of its write, so an idle connection holds none. They start at 4 KiB and double up to 64 KiB while reads keep
/// filling them (bulk transfers get big buffers; chatty ones stay small), as ztunnel's copy.rs does.
/// The first error in either direction cancels the other; the caller then resets both sockets.
/// </summary>
public static class SocketCopier
{
    public const int InitialBufferSize = 4 * 1024;
    public const int MaxBufferSize = 64 * 1024;

    public static async Task<CopyResult> CopyAsync(Socket downstream, Socket upstream, TcpCounters? counters, CancellationToken cancellationToken)
    {
        using var pair = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var request = OneWayAsync(downstream, upstream, counters, isRequest: true, pair);
        var response = OneWayAsync(upstream, downstream, counters, isRequest: false, pair);
        var (sent, sendError) = await request.ConfigureAwait(false);
        var (received, receiveError) = await response.ConfigureAwait(false);
        Exception? error = FirstRealError(sendError, receiveError);
        if (error is null && cancellationToken.IsCancellationRequested)
        {
            error = sendError ?? receiveError;
        }
        return new CopyResult(sent, received, error);
    }

    private static Exception? FirstRealError(Exception? a, Exception? b)
    {
        // The direction that failed first cancels its partner, whose OperationCanceledException is a consequence.
        if (a is not null and not OperationCanceledException)
        {
            return a;
        }
        if (b is not null and not OperationCanceledException)
        {
            return b;
        }
        return a ?? b;
    }

    private static async Task<(long Bytes, Exception? Error)> OneWayAsync(Socket from, Socket to, TcpCounters? counters, bool isRequest, CancellationTokenSource pair)
    {
        var ct = pair.Token;
        long total = 0;
        int size = InitialBufferSize;
        try
        {
            while (true)
            {
                // Zero-byte read: wait until data (or EOF) is there without holding a buffer.
                await from.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, ct).ConfigureAwait(false);
                byte[] buffer = ArrayPool<byte>.Shared.Rent(size);
                try
                {
                    int n = await from.ReceiveAsync(buffer.AsMemory(0, size), SocketFlags.None, ct).ConfigureAwait(false);
                    if (n == 0)
                    {
                        // Half-close: the peer finished sending; tell the other side, keep the reverse direction open.
                        to.Shutdown(SocketShutdown.Send);
                        return (total, null);
                    }
                    int written = 0;
                    while (written < n)
                    {
                        written += await to.SendAsync(buffer.AsMemory(written, n - written), SocketFlags.None, ct).ConfigureAwait(false);
                    }
                    total += n;
                    if (counters is not null)
                    {
                        if (isRequest)
                        {
                            counters.AddReceived(n);
                        }
                        else
                        {
                            counters.AddSent(n);
                        }
                    }
                    if (n == size && size < MaxBufferSize)
                    {
                        size *= 2;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            pair.Cancel();
            return (total, e);
        }
    }

    /// <summary>Closes with RST (SO_LINGER 0), so a peer learns that the other side failed rather than seeing a clean EOF.</summary>
    public static void Abort(Socket? socket)
    {
        if (socket is null)
        {
            return;
        }
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // already gone
        }
        socket.Dispose();
    }
}
