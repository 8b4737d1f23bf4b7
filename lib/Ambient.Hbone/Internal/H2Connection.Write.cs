using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Ambient.Hbone.Internal.Hpack;

namespace Ambient.Hbone.Internal;

internal sealed partial class H2Connection
{
    /// <summary>A peer that stops reading while making us queue control frames (PING floods) is cut off past this.</summary>
    private const int MaxQueuedControlBytes = 1024 * 1024;

    /// <summary>Largest DATA payload we send in one frame: bigger frames would only be split into 16 KiB TLS records anyway.</summary>
    private const int MaxDataChunk = 64 * 1024;

    private readonly object _controlLock = new();
    private ArrayBufferWriter<byte> _control;       // frames waiting; guarded by _controlLock
    private ArrayBufferWriter<byte> _controlSpare;  // being written; owned by the write-lock holder
    private readonly Channel<bool> _controlSignal;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private byte[]? _dataBuffer;                    // header + payload of one DATA frame; owned by the write-lock holder

    private void EnqueueFrame(H2FrameType type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        bool overflow;
        lock (_controlLock)
        {
            var span = _control.GetSpan(H2FrameHeader.Size + payload.Length);
            H2FrameHeader.Write(span, payload.Length, type, flags, streamId);
            payload.CopyTo(span[H2FrameHeader.Size..]);
            _control.Advance(H2FrameHeader.Size + payload.Length);
            overflow = _control.WrittenCount > MaxQueuedControlBytes;
        }
        if (overflow)
            Abort(new IOException("the HBONE peer is not reading: more than 1 MiB of control frames queued"));
        else
            _controlSignal.Writer.TryWrite(true);
    }

    private void EnqueueWindowUpdate(int streamId, long increment)
    {
        Span<byte> p = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(p, (uint)increment);
        EnqueueFrame(H2FrameType.WindowUpdate, 0, streamId, p);
    }

    private void EnqueueRstStream(int streamId, Http2ErrorCode code)
    {
        Span<byte> p = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(p, (uint)code);
        EnqueueFrame(H2FrameType.RstStream, 0, streamId, p);
    }

    private void EnqueueGoAway(Http2ErrorCode code, string debug)
    {
        int last;
        lock (_sync)
            last = _lastPeerStreamId;
        var debugBytes = System.Text.Encoding.UTF8.GetBytes(debug.Length > 256 ? debug[..256] : debug);
        var p = new byte[8 + debugBytes.Length];
        BinaryPrimitives.WriteInt32BigEndian(p, last);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(4), (uint)code);
        debugBytes.CopyTo(p, 8);
        EnqueueFrame(H2FrameType.GoAway, 0, 0, p);
    }

    /// <summary>HEADERS (+ CONTINUATION when the block is larger than the peer's max frame size, RFC 9113 §6.10).</summary>
    private void EnqueueHeadersLocked(int streamId, ReadOnlySpan<byte> block, bool endStream)
    {
        int max = _peerMaxFrameSize;
        var first = block.Length <= max ? block : block[..max];
        byte flags = (byte)((endStream ? H2Flags.EndStream : 0) | (first.Length == block.Length ? H2Flags.EndHeaders : 0));
        EnqueueFrame(H2FrameType.Headers, flags, streamId, first);
        block = block[first.Length..];
        while (block.Length > 0)
        {
            var part = block.Length <= max ? block : block[..max];
            block = block[part.Length..];
            EnqueueFrame(H2FrameType.Continuation, block.Length == 0 ? H2Flags.EndHeaders : (byte)0, streamId, part);
        }
    }

    private async Task WriteLoopAsync()
    {
        var token = _cts.Token;
        try
        {
            while (await _controlSignal.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                _controlSignal.Reader.TryRead(out _);
                await _writeLock.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    await FlushControlLockedAsync(token).ConfigureAwait(false);
                }
                finally
                {
                    _writeLock.Release();
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Abort(new IOException($"writing to the HBONE peer failed: {e.Message}", e));
        }
    }

    /// <summary>Writes whatever the control queue holds. Caller holds the write lock.</summary>
    private async ValueTask FlushControlLockedAsync(CancellationToken token)
    {
        lock (_controlLock)
        {
            if (_control.WrittenCount == 0)
                return;
            (_control, _controlSpare) = (_controlSpare, _control);
        }
        await _transport.WriteAsync(_controlSpare.WrittenMemory, token).ConfigureAwait(false);
        _controlSpare.ResetWrittenCount();
    }

    /// <summary>Best effort: push queued frames (a final GOAWAY) out before a close.</summary>
    private async Task FlushControlAsync(TimeSpan timeout)
    {
        if (IsClosed)
            return;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
        cts.CancelAfter(timeout);
        try
        {
            await _writeLock.WaitAsync(cts.Token).ConfigureAwait(false);
            try
            {
                await FlushControlLockedAsync(cts.Token).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception)
        {
            // The peer is gone or not reading; we close regardless.
        }
    }

    /// <summary>
    /// Client role: allocates the next stream id and queues its CONNECT HEADERS in one step, so ids go out in increasing order
    /// (RFC 9113 §5.1.1). The caller reserved a slot with <see cref="TryReserveStream"/>.
    /// </summary>
    public HboneStream OpenStream(ReadOnlySpan<byte> headerBlock)
    {
        lock (_sync)
        {
            ThrowIfFailedLocked();
            if (_goingAway)
                throw new HboneStreamRefusedException("the HBONE connection is going away");
            if (_nextStreamId < 0)
                throw new HboneStreamRefusedException("stream ids exhausted on this connection");
            int id = _nextStreamId;
            _nextStreamId += 2;
            var stream = new HboneStream(this, id, _peerInitialWindow, _local.StreamWindow);
            _streams[id] = stream;
            // The id order on the wire is the control queue's order, and _sync is held across the enqueue.
            EnqueueHeadersLocked(id, headerBlock, endStream: false);
            return stream;
        }
    }

    /// <summary>Response HEADERS for an inbound stream (server role).</summary>
    internal void SendResponse(HboneStream stream, int status, IReadOnlyList<KeyValuePair<string, string>>? headers, bool endStream)
    {
        var block = new ArrayBufferWriter<byte>(64);
        if (status == 200)
            HpackEncoder.WriteIndexed(block, StaticTable.Status200);
        else
            HpackEncoder.WriteLiteral(block, StaticTable.Status200, status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var h in headers ?? [])
            HpackEncoder.WriteLiteral(block, h.Key.ToLowerInvariant(), h.Value);
        lock (_sync)
        {
            ThrowIfFailedLocked();
            if (stream.IsReset)
                throw stream.ResetError!;
            EnqueueHeadersLocked(stream.Id, block.WrittenSpan, endStream);
            if (endStream)
                MarkLocalClosedLocked(stream);
        }
    }

    /// <summary>END_STREAM on an empty DATA frame: queued behind every DATA frame already written.</summary>
    internal void EndStream(HboneStream stream)
    {
        lock (_sync)
        {
            if (stream.LocalClosed)
                return;
            ThrowIfFailedLocked();
            if (stream.IsReset)
                throw stream.ResetError!;
            EnqueueFrame(H2FrameType.Data, H2Flags.EndStream, stream.Id, []);
            MarkLocalClosedLocked(stream);
        }
    }

    private void MarkLocalClosedLocked(HboneStream stream)
    {
        stream.LocalClosed = true;
        if (stream.RemoteClosed)
            RemoveStreamLocked(stream);
    }

    /// <summary>Application reset: RST_STREAM with <paramref name="code"/>, pending reads and writes fail.</summary>
    internal void ResetStream(HboneStream stream, Http2ErrorCode code, IOException error)
    {
        lock (_sync)
        {
            if (stream.IsReset || (stream.LocalClosed && stream.RemoteClosed))
                return;
            if (_failure is null)
                EnqueueRstStream(stream.Id, code);
            ResetLocked(stream, error);
        }
    }

    private void ResetLocked(HboneStream stream, IOException error)
    {
        stream.OnReset(error);
        ReturnBufferedLocked(stream);
        RemoveStreamLocked(stream);
        SignalWindowLocked();
    }

    /// <summary>
    /// Sends <paramref name="data"/> as DATA frames within the stream and connection windows (RFC 9113 §6.9), waiting for
    /// WINDOW_UPDATE when either is spent. Pooled state machine: the steady state allocates nothing per frame.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask WriteDataAsync(HboneStream stream, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (!data.IsEmpty)
        {
            int n = 0;
            Task? wait = null;
            lock (_sync)
            {
                ThrowIfFailedLocked();
                if (stream.IsReset)
                    throw stream.ResetError!;
                if (stream.LocalClosed)
                    throw new InvalidOperationException("writes were already completed on this HBONE stream");
                long available = Math.Min(Math.Min(stream.SendWindow, _connSendWindow), Math.Min(_peerMaxFrameSize, MaxDataChunk));
                if (available > 0)
                {
                    n = (int)Math.Min(available, data.Length);
                    stream.SendWindow -= n;
                    _connSendWindow -= n;
                }
                else
                {
                    wait = _windowChanged.Task;
                }
            }
            if (wait is not null)
            {
                await wait.WaitAsync(ct).ConfigureAwait(false);
                continue;
            }

            try
            {
                await _writeLock.WaitAsync(ct).ConfigureAwait(false);
            }
            catch
            {
                GiveBack(stream, n);
                throw;
            }
            bool writing = false;
            try
            {
                writing = true;
                // Frames queued before this one (our HEADERS, WINDOW_UPDATEs) go first.
                await FlushControlLockedAsync(_cts.Token).ConfigureAwait(false);
                writing = false;
                if (stream.IsReset)
                {
                    GiveBack(stream, n);
                    throw stream.ResetError!;
                }
                _dataBuffer ??= new byte[H2FrameHeader.Size + MaxDataChunk];
                H2FrameHeader.Write(_dataBuffer, n, H2FrameType.Data, 0, stream.Id);
                data.Span[..n].CopyTo(_dataBuffer.AsSpan(H2FrameHeader.Size));
                writing = true;
                // Not ct: a TLS write cancelled half-way would corrupt the connection for every stream.
                await _transport.WriteAsync(_dataBuffer.AsMemory(0, H2FrameHeader.Size + n), _cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (writing)
            {
                // A failed or interrupted TLS write leaves the connection unusable for every stream.
                Abort(e as IOException ?? new IOException($"writing to the HBONE peer failed: {e.Message}", e));
                lock (_sync)
                    ThrowIfFailedLocked();
                throw;
            }
            finally
            {
                _writeLock.Release();
            }
            data = data[n..];
        }
    }

    private void GiveBack(HboneStream stream, int n)
    {
        lock (_sync)
        {
            stream.SendWindow += n;
            _connSendWindow += n;
            SignalWindowLocked();
        }
    }

    /// <summary>Error status with END_STREAM, then RST_STREAM NO_ERROR if the client is still sending (RFC 9113 §8.1).</summary>
    internal void RejectStream(HboneStream stream, int status)
    {
        SendResponse(stream, status, null, endStream: true);
        lock (_sync)
        {
            if (!stream.RemoteClosed && !stream.IsReset && _failure is null)
            {
                EnqueueRstStream(stream.Id, Http2ErrorCode.NoError);
                ResetLocked(stream, new IOException($"HBONE stream {stream.Id} was rejected with {status}"));
            }
        }
    }
}
