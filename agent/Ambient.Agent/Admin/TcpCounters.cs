namespace Ambient.Agent.Admin;

/// <summary>Counters of one label set, updated with Interlocked from connection tasks.</summary>
public sealed class TcpCounters
{
    private long _opened;
    private long _closed;
    private long _failed;
    private long _received;
    private long _sent;

    public long Opened => Volatile.Read(ref _opened);
    public long Closed => Volatile.Read(ref _closed);
    public long Failed => Volatile.Read(ref _failed);

    /// <summary>Bytes received during the request (client → server), Istio's istio_tcp_received_bytes.</summary>
    public long ReceivedBytes => Volatile.Read(ref _received);

    /// <summary>Bytes sent during the response (server → client), Istio's istio_tcp_sent_bytes.</summary>
    public long SentBytes => Volatile.Read(ref _sent);

    public void Open() => Interlocked.Increment(ref _opened);
    public void Close() => Interlocked.Increment(ref _closed);
    public void Fail() => Interlocked.Increment(ref _failed);
    public void AddReceived(long n) => Interlocked.Add(ref _received, n);
    public void AddSent(long n) => Interlocked.Add(ref _sent, n);
}
