using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using Ambient.Hbone.Internal.Hpack;
using Microsoft.Extensions.Logging;

namespace Ambient.Hbone.Internal;

/// <summary>
/// One HTTP/2 connection (RFC 9113) over an authenticated TLS stream, in the client or the server role.
/// <code>
///   reader loop (PipeReader) ──frames──▶ Process* ──DATA──▶ stream Pipe ──▶ HboneStream.ReadAsync
///                                 └──SETTINGS ACK, PING ACK, WINDOW_UPDATE, RST, HEADERS──▶ control queue
///   HboneStream.WriteAsync ──window──▶ write lock: flush control queue, then one DATA frame ──▶ TLS
///   writer loop ──▶ write lock: flush control queue ──▶ TLS
/// </code>
/// The reader never waits for the socket's write side: every frame it must send goes into the control queue, so two peers
/// that both write at full speed cannot deadlock each other. Every non-DATA frame goes through that queue (HPACK blocks
/// included: our encoder keeps no state), which also keeps all frames in enqueue order.
/// State shared between the loops and application calls is guarded by <see cref="_sync"/>.
/// </summary>
internal sealed partial class H2Connection : IAsyncDisposable
{
    private static long s_nextId;

    private readonly Stream _transport;
    private readonly H2ConnectionSettings _local;
    private readonly ILogger _logger;
    private readonly PipeReader _reader;
    private readonly HpackDecoder _decoder;
    private readonly CancellationTokenSource _cts = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly object _sync = new();
    private readonly Dictionary<int, HboneStream> _streams = [];
    private int _nextStreamId;          // next id we open (client: odd)
    private int _lastPeerStreamId;      // highest id the peer opened
    private int _activeStreams;         // open streams plus client reservations
    private long _idleSinceTicks = Environment.TickCount64;
    private Exception? _failure;
    private bool _goingAway;            // GOAWAY sent or received: no new streams
    private int _goAwayLastStreamId = int.MaxValue;

    // Peer settings (RFC 9113 §6.5.2 defaults until its SETTINGS arrives).
    private int _peerMaxFrameSize = H2FrameHeader.DefaultMaxFrameSize;
    private int _peerInitialWindow = H2FrameHeader.DefaultWindow;
    private int _peerMaxConcurrentStreams = int.MaxValue;

    // Flow control: what we may still send, what the peer may still send, and what the application consumed but we have not yet returned.
    private long _connSendWindow = H2FrameHeader.DefaultWindow;
    private long _connRecvWindow;
    private long _connConsumedUnacked;
    private TaskCompletionSource _windowChanged = NewSignal();

    private TaskCompletionSource<bool>? _pingAck;
    private long _pingPayload;

    private Task _readLoop = Task.CompletedTask;
    private Task _writeLoop = Task.CompletedTask;
    private Task _pingLoop = Task.CompletedTask;

    public H2Connection(Stream transport, H2ConnectionSettings local, ILogger logger)
    {
        local.Validate();
        _transport = transport;
        _local = local;
        _logger = logger;
        Id = Interlocked.Increment(ref s_nextId);
        // Zero-byte reads: an idle connection holds no receive buffer. 64 KiB segments keep a 1 MiB frame to 16 segments.
        // Every read has room for a whole TLS record (16 KiB plaintext): a smaller tail would split one record over two reads.
        _reader = PipeReader.Create(transport, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024, useZeroByteReads: true));
        _decoder = new HpackDecoder(H2ConnectionSettings.HeaderTableSize, local.MaxHeaderListSize);
        _nextStreamId = local.IsClient ? 1 : 2;
        _connRecvWindow = local.ConnectionWindow;
        _control = new ArrayBufferWriter<byte>(1024);
        _controlSpare = new ArrayBufferWriter<byte>(1024);
        _controlSignal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    }

    public long Id { get; }
    public bool IsClient => _local.IsClient;
    internal H2ConnectionSettings LocalSettings => _local;

    /// <summary>Server role: a complete request header block opened stream <paramref name="stream"/>.</summary>
    public Action<HboneStream, List<KeyValuePair<string, string>>>? OnRequest { get; set; }

    /// <summary>Fires once when the connection is closed (failure or graceful) or starts going away.</summary>
    public event Action<H2Connection>? StateChanged;

    /// <summary>Completes when the connection is closed; never faults.</summary>
    public Task Completion => _closed.Task;

    public bool IsClosed => _closed.Task.IsCompleted;

    /// <summary>Whether the pool may put new streams on this connection.</summary>
    public bool IsUsable
    {
        get { lock (_sync) return !_goingAway && _failure is null; }
    }

    public int ActiveStreams
    {
        get { lock (_sync) return _activeStreams; }
    }

    /// <summary>Milliseconds (Environment.TickCount64) since which no stream was open; meaningful only when <see cref="ActiveStreams"/> is 0.</summary>
    public long IdleSinceTicks
    {
        get { lock (_sync) return _idleSinceTicks; }
    }

    public CancellationToken Closing => _cts.Token;

    /// <summary>Sends our preface and SETTINGS (RFC 9113 §3.4) and starts the reader, writer and PING loops.</summary>
    public void Start()
    {
        lock (_controlLock)
        {
            if (_local.IsClient)
            {
                var preface = _control.GetSpan(H2FrameHeader.ClientPreface.Length);
                H2FrameHeader.ClientPreface.CopyTo(preface);
                _control.Advance(H2FrameHeader.ClientPreface.Length);
            }
        }
        Span<byte> settings = stackalloc byte[6 * 5];
        int n = 0;
        n += WriteSetting(settings[n..], H2Setting.EnablePush, 0);
        n += WriteSetting(settings[n..], H2Setting.InitialWindowSize, (uint)_local.StreamWindow);
        n += WriteSetting(settings[n..], H2Setting.MaxFrameSize, (uint)_local.MaxFrameSize);
        n += WriteSetting(settings[n..], H2Setting.MaxHeaderListSize, (uint)_local.MaxHeaderListSize);
        n += WriteSetting(settings[n..], H2Setting.MaxConcurrentStreams, (uint)_local.MaxConcurrentStreams);
        EnqueueFrame(H2FrameType.Settings, 0, 0, settings[..n]);
        // §6.9.2: SETTINGS cannot change the connection window; one WINDOW_UPDATE raises it from 64 KiB.
        if (_local.ConnectionWindow > H2FrameHeader.DefaultWindow)
            EnqueueWindowUpdate(0, _local.ConnectionWindow - H2FrameHeader.DefaultWindow);

        _writeLoop = Task.Run(WriteLoopAsync);
        _readLoop = Task.Run(ReadLoopAsync);
        if (_local.PingInterval > TimeSpan.Zero && _local.PingInterval != Timeout.InfiniteTimeSpan)
            _pingLoop = Task.Run(PingLoopAsync);
    }

    private static int WriteSetting(Span<byte> s, ushort id, uint value)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(s, id);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(s[2..], value);
        return 6;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Wakes every writer waiting for window (any WINDOW_UPDATE, SETTINGS change, reset or close). Call under <see cref="_sync"/>.</summary>
    private void SignalWindowLocked()
    {
        var old = _windowChanged;
        _windowChanged = NewSignal();
        old.TrySetResult();
    }

    /// <summary>Client role: takes a stream slot if the connection is usable and below both limits.</summary>
    public bool TryReserveStream(int maxStreams)
    {
        lock (_sync)
        {
            if (_goingAway || _failure is not null || _activeStreams >= Math.Min(maxStreams, _peerMaxConcurrentStreams))
                return false;
            _activeStreams++;
            return true;
        }
    }

    public void ReleaseReservation()
    {
        lock (_sync)
            DecrementActiveLocked();
    }

    private void DecrementActiveLocked()
    {
        _activeStreams--;
        if (_activeStreams == 0)
            _idleSinceTicks = Environment.TickCount64;
    }

    /// <summary>Stops new streams: GOAWAY with the last stream the peer opened (RFC 9113 §6.8); open streams go on.</summary>
    public void BeginDrain()
    {
        lock (_sync)
        {
            if (_goingAway || _failure is not null)
                return;
            _goingAway = true;
        }
        EnqueueGoAway(Http2ErrorCode.NoError, "");
        StateChanged?.Invoke(this);
    }

    /// <summary>Sends GOAWAY NO_ERROR, gives the writer a moment to put it on the wire, then closes.</summary>
    public async Task CloseGracefullyAsync()
    {
        BeginDrain();
        await FlushControlAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        Abort(new IOException("the HBONE connection was closed locally"));
        await WaitLoopsAsync().ConfigureAwait(false);
    }

    /// <summary>Waits until no stream is open or <paramref name="timeout"/> passes.</summary>
    public async Task WaitForStreamsAsync(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (!IsClosed && ActiveStreams > 0 && Environment.TickCount64 < deadline)
        {
            Task signal;
            lock (_sync)
                signal = _windowChanged.Task; // signalled on every stream removal too
            await Task.WhenAny(signal, _closed.Task, Task.Delay(50)).ConfigureAwait(false);
        }
    }

    /// <summary>Closes the connection now: every stream fails with an IOException carrying <paramref name="reason"/>.</summary>
    public void Abort(Exception reason)
    {
        HboneStream[] streams;
        lock (_sync)
        {
            if (_failure is not null)
                return;
            _failure = reason;
            _goingAway = true;
            streams = [.. _streams.Values];
            _streams.Clear();
            _activeStreams = 0;
            SignalWindowLocked();
        }
        var error = reason as IOException ?? new IOException($"the HBONE connection failed: {reason.Message}", reason);
        foreach (var s in streams)
            s.OnReset(error);
        _cts.Cancel();
        _controlSignal.Writer.TryComplete();
        try
        {
            _transport.Dispose();
        }
        catch (Exception)
        {
            // Closing a broken TLS stream may throw; the connection is gone either way.
        }
        HboneLog.ConnectionClosed(_logger, Id, _local.IsClient ? "client" : "server", reason.Message);
        _pingAck?.TrySetResult(false);
        _closed.TrySetResult();
        StateChanged?.Invoke(this);
    }

    private async Task WaitLoopsAsync()
    {
        try
        {
            await Task.WhenAll(_readLoop, _writeLoop, _pingLoop).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Loops report through Abort; their own exceptions are expected after a close.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!IsClosed)
            await CloseGracefullyAsync().ConfigureAwait(false);
        await WaitLoopsAsync().ConfigureAwait(false);
        _cts.Dispose();
    }

    /// <summary>Keepalive (protocol facts §f): PING every interval; no ACK within the timeout means the peer is gone.</summary>
    private async Task PingLoopAsync()
    {
        var token = _cts.Token;
        var data = new byte[8];
        try
        {
            while (!token.IsCancellationRequested)
            {
                await Task.Delay(_local.PingInterval, token).ConfigureAwait(false);
                var ack = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                long payload;
                lock (_sync)
                {
                    _pingAck = ack;
                    payload = ++_pingPayload;
                }
                System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(data, payload);
                EnqueueFrame(H2FrameType.Ping, 0, 0, data);
                var winner = await Task.WhenAny(ack.Task, Task.Delay(_local.PingTimeout, token)).ConfigureAwait(false);
                if (winner != ack.Task)
                {
                    token.ThrowIfCancellationRequested();
                    HboneLog.PingTimeout(_logger, Id, _local.PingTimeout);
                    Abort(new IOException($"the HBONE peer did not answer PING within {_local.PingTimeout.TotalSeconds:0.###} s"));
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Removes a stream once both halves are closed or it was reset. Call under <see cref="_sync"/>.</summary>
    private void RemoveStreamLocked(HboneStream stream)
    {
        if (_streams.Remove(stream.Id))
        {
            DecrementActiveLocked();
            SignalWindowLocked();
            if (_goingAway && _activeStreams == 0 && _local.IsClient)
                _ = Task.Run(CloseGracefullyAsync);
        }
    }

    private void ThrowIfFailedLocked()
    {
        if (_failure is not null)
            throw _failure as IOException ?? new IOException($"the HBONE connection failed: {_failure.Message}", _failure);
    }
}
