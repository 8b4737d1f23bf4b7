using System.Buffers;
using System.Net.Sockets;

namespace Ambient.Hbone;

/// <summary>Byte counts per direction, called once per chunk (the agent's istio_tcp_*_bytes_total).</summary>
public interface IRelayCounters
{
    /// <summary>Socket → stream bytes.</summary>
    void Sent(long bytes);

    /// <summary>Stream → socket bytes.</summary>
    void Received(long bytes);
}

/// <summary>What a relay moved, and the first error that ended it early (null for a clean close of both halves).</summary>
public readonly record struct RelayResult(long BytesSent, long BytesReceived, Exception? Error);

/// <summary>
/// Copies both directions between a TCP socket and an HBONE stream (ztunnel copy.rs):
/// <code>
///   socket ──read──▶ stream.WriteAsync … EOF ──▶ CompleteWritesAsync (END_STREAM)
///   stream ──read──▶ socket.SendAsync  … EOF ──▶ socket.Shutdown(Send) (FIN)
/// </code>
/// Half-closes propagate; an error in either direction aborts both (RST_STREAM and socket shutdown).
/// </summary>
public static class HboneRelay
{
    /// <summary>
    /// Socket → stream buffer: starts at one TLS record's worth and doubles up to one full 64 KiB DATA frame while reads keep
    /// filling it (bulk transfers get big frames, chatty ones stay small), as <c>SocketCopier</c> and ztunnel's copy.rs do.
    /// It is rented only between a zero-byte read's readiness signal and the end of its write, so an idle stream holds none.
    /// Stream → socket needs no buffer: received DATA goes from the stream's pipe straight to the socket.
    /// </summary>
    private const int InitialBufferSize = 16 * 1024;
    private const int MaxBufferSize = 64 * 1024;

    public static async Task<RelayResult> CopyAsync(Socket socket, HboneStream stream, IRelayCounters? counters, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var state = new State();
        var up = Task.Run(() => SocketToStreamAsync(socket, stream, counters, state, cts), CancellationToken.None);
        var down = Task.Run(() => StreamToSocketAsync(socket, stream, counters, state, cts), CancellationToken.None);
        await Task.WhenAll(up, down).ConfigureAwait(false);
        return new RelayResult(state.Sent, state.Received, state.Error);
    }

    private sealed class State
    {
        public long Sent;
        public long Received;
        public Exception? Error;

        /// <summary>First failure wins; the other direction is stopped and both ends are torn down.</summary>
        public void Fail(Exception e, Socket socket, HboneStream stream, CancellationTokenSource cts)
        {
            if (Interlocked.CompareExchange(ref Error, e, null) is not null)
                return;
            stream.Abort();
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception)
            {
                // Already closed by the peer.
            }
            cts.Cancel();
        }
    }

    private static async Task SocketToStreamAsync(Socket socket, HboneStream stream, IRelayCounters? counters, State state, CancellationTokenSource cts)
    {
        int size = InitialBufferSize;
        try
        {
            while (true)
            {
                // Zero-byte read: wait until data (or EOF) is there without holding a buffer.
                await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cts.Token).ConfigureAwait(false);
                var buffer = ArrayPool<byte>.Shared.Rent(size);
                try
                {
                    int n = await socket.ReceiveAsync(buffer.AsMemory(0, size), SocketFlags.None, cts.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        await stream.CompleteWritesAsync(cts.Token).ConfigureAwait(false);
                        return;
                    }
                    await stream.WriteAsync(buffer.AsMemory(0, n), cts.Token).ConfigureAwait(false);
                    state.Sent += n;
                    counters?.Sent(n);
                    if (n == size && size < MaxBufferSize)
                        size *= 2;
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (Exception e)
        {
            state.Fail(e, socket, stream, cts);
        }
    }

    private static async Task StreamToSocketAsync(Socket socket, HboneStream stream, IRelayCounters? counters, State state, CancellationTokenSource cts)
    {
        try
        {
            while (true)
            {
                int n = await stream.SendReceivedToAsync(socket, cts.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    socket.Shutdown(SocketShutdown.Send);
                    return;
                }
                state.Received += n;
                counters?.Received(n);
            }
        }
        catch (Exception e)
        {
            state.Fail(e, socket, stream, cts);
        }
    }
}
