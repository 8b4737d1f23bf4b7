using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Ambient.Hbone.Internal;

namespace Ambient.Hbone;

/// <summary>
/// One CONNECT stream, duplex. Reads return 0 after the peer's END_STREAM and throw <see cref="IOException"/> after a reset or
/// a dead connection. Writes become DATA frames within the HTTP/2 windows. Received data waits in a per-stream
/// <see cref="Pipe"/> (pooled segments, no allocation per frame); consuming it is what returns window to the peer, so a slow
/// reader slows its sender and nobody else.
/// </summary>
public sealed class HboneStream : Stream
{
    // Never pauses: HTTP/2 flow control already bounds what a peer may buffer here (the stream window).
    // Delivered DATA wakes the reader inline on the connection's reader loop (DeliveryScheduler); everything else on the pool.
    private static readonly PipeOptions s_pipeOptions = new(pool: null, readerScheduler: DeliveryScheduler.Instance, writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 0, resumeWriterThreshold: 0, minimumSegmentSize: 16 * 1024, useSynchronizationContext: false);

    private readonly H2Connection _connection;
    private readonly Pipe _receive = new(s_pipeOptions);
    private readonly object _gate = new(); // orders the reader loop's pipe writes against resets and disposal
    private readonly TaskCompletionSource<bool> _response = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _receiveDone;
    private bool _disposed;

    internal HboneStream(H2Connection connection, int id, int sendWindow, int receiveWindow)
    {
        _connection = connection;
        Id = id;
        SendWindow = sendWindow;
        RecvWindow = receiveWindow;
    }

    internal int Id { get; }

    // Flow-control and state fields, guarded by the connection's lock.
    internal long SendWindow;
    internal long RecvWindow;
    internal long ConsumedUnacked;
    internal long Buffered;
    internal bool LocalClosed;
    internal bool RemoteClosed;
    internal volatile bool IsReset;
    internal IOException? ResetError;

    internal bool HasResponse => _response.Task.IsCompletedSuccessfully;

    internal Task ResponseTask => _response.Task;

    /// <summary>The response status: 200 on the client once CONNECT succeeded; on the server, what we answered.</summary>
    public int StatusCode { get; internal set; }

    /// <summary>Response headers without pseudo-headers (e.g. ztunnel's response <c>baggage</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ResponseHeaders { get; private set; } = [];

    internal void SetResponse(int status, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        StatusCode = status;
        ResponseHeaders = headers;
        _response.TrySetResult(true);
    }

    /// <summary>Reader loop: appends DATA. False when nobody will read it any more.</summary>
    internal bool Deliver(ReadOnlySequence<byte> data)
    {
        lock (_gate)
        {
            if (_receiveDone)
                return false;
            if (data.IsEmpty)
                return true;
            foreach (var segment in data)
                _receive.Writer.Write(segment.Span);
        }
        // Outside the gate: the reader's continuation runs here (DeliveryScheduler) and may take the connection's lock, which
        // resets hold while they take the gate. A reset completing the writer meanwhile is fine: the pipe orders both.
        // Completes synchronously: the pipe never pauses (pauseWriterThreshold 0).
        var flush = DeliveryScheduler.FlushInline(_receive.Writer);
        if (!flush.IsCompleted)
            throw new InvalidOperationException("stream receive pipe paused");
        flush.GetAwaiter().GetResult();
        return true;
    }

    internal void CompleteRemote()
    {
        lock (_gate)
        {
            if (_receiveDone)
                return;
            _receiveDone = true;
            _receive.Writer.Complete();
        }
    }

    internal void OnReset(IOException error)
    {
        ResetError ??= error;
        IsReset = true;
        lock (_gate)
        {
            if (!_receiveDone)
            {
                _receiveDone = true;
                _receive.Writer.Complete(error);
            }
        }
        _response.TrySetException(error);
        _ = _response.Task.Exception; // observed: a reset before the response is reported by ConnectAsync, not the finalizer
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            var result = await _receive.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var data = result.Buffer;
            if (data.IsEmpty)
            {
                _receive.Reader.AdvanceTo(data.End);
                if (result.IsCompleted)
                    return 0;
                continue;
            }
            if (buffer.IsEmpty)
            {
                // Zero-byte read: report that data is ready without taking it.
                _receive.Reader.AdvanceTo(data.Start);
                return 0;
            }
            int n = (int)Math.Min(data.Length, buffer.Length);
            data.Slice(0, n).CopyTo(buffer.Span);
            _receive.Reader.AdvanceTo(data.GetPosition(n));
            _connection.OnConsumed(this, n);
            return n;
        }
    }

    /// <summary>
    /// Relay: sends what has arrived straight from the receive pipe to <paramref name="socket"/> (no intermediate buffer or
    /// copy), then returns the window for it. Returns the bytes sent, 0 after the peer's END_STREAM.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<int> SendReceivedToAsync(System.Net.Sockets.Socket socket, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            var result = await _receive.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var data = result.Buffer;
            if (data.IsEmpty)
            {
                _receive.Reader.AdvanceTo(data.End);
                if (result.IsCompleted)
                    return 0;
                continue;
            }
            // At most the stream receive window is ever buffered, so this fits an int.
            int total = 0;
            try
            {
                foreach (var segment in data)
                {
                    var rest = segment;
                    while (!rest.IsEmpty)
                    {
                        int sent = await socket.SendAsync(rest, System.Net.Sockets.SocketFlags.None, cancellationToken).ConfigureAwait(false);
                        rest = rest[sent..];
                    }
                    total += segment.Length;
                }
            }
            catch
            {
                _receive.Reader.AdvanceTo(data.Start);
                throw;
            }
            _receive.Reader.AdvanceTo(data.End);
            _connection.OnConsumed(this, total);
            return total;
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _connection.WriteDataAsync(this, buffer, cancellationToken);
    }

    /// <summary>Half-close: END_STREAM after everything written so far. Reading goes on.</summary>
    public ValueTask CompleteWritesAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _connection.EndStream(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>RST_STREAM CANCEL; pending and later reads and writes fail.</summary>
    public void Abort() => _connection.ResetStream(this, Http2ErrorCode.Cancel, new IOException($"HBONE stream {Id} was aborted locally"));

    /// <summary>Server role: <see cref="HboneInboundRequest"/> answers through here.</summary>
    internal H2Connection Connection => _connection;

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            bool clean;
            lock (_gate)
                clean = !IsReset && LocalClosed && RemoteClosed;
            if (!clean)
                Abort();
            lock (_gate)
            {
                if (!_receiveDone)
                {
                    _receiveDone = true;
                    _receive.Writer.Complete();
                }
            }
            _receive.Reader.Complete();
            _connection.ReleaseBuffered(this);
        }
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
