using System.Buffers;
using System.Buffers.Binary;
using Ambient.Hbone.Internal.Hpack;

namespace Ambient.Hbone.Internal;

internal sealed partial class H2Connection
{
    private bool _prefaceDone;        // server: client magic seen
    private bool _settingsReceived;   // §3.4: the peer's first frame must be SETTINGS
    private readonly ArrayBufferWriter<byte> _headerBlock = new(256);
    private int _continuationStreamId; // != 0 while a header block spans CONTINUATION frames
    private bool _continuationEndStream;

    private async Task ReadLoopAsync()
    {
        var token = _cts.Token;
        string reason = "the HBONE peer closed the connection";
        try
        {
            while (true)
            {
                var result = await _reader.ReadAsync(token).ConfigureAwait(false);
                var buffer = result.Buffer;
                try
                {
                    if (!_prefaceDone && !_local.IsClient)
                    {
                        if (!TryReadPreface(ref buffer))
                        {
                            if (result.IsCompleted)
                                throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, "connection closed before the HTTP/2 preface");
                            continue;
                        }
                    }
                    while (TryReadFrame(ref buffer, out var header, out var payload))
                        ProcessFrame(header, payload);
                    if (result.IsCompleted)
                    {
                        if (!buffer.IsEmpty)
                            reason = "the HBONE peer closed the connection in the middle of a frame";
                        break;
                    }
                }
                finally
                {
                    _reader.AdvanceTo(buffer.Start, buffer.End);
                }
            }
            Abort(new IOException(reason));
        }
        catch (H2ConnectionErrorException e)
        {
            HboneLog.ProtocolError(_logger, Id, e.Code, e.Message);
            lock (_sync)
                _goingAway = true;
            EnqueueGoAway(e.Code, e.Message);
            await FlushControlAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            Abort(new HboneProtocolException(e.Code, $"HTTP/2 protocol error ({e.Code}): {e.Message}"));
        }
        catch (HpackException e)
        {
            HboneLog.ProtocolError(_logger, Id, Http2ErrorCode.CompressionError, e.Message);
            EnqueueGoAway(Http2ErrorCode.CompressionError, e.Message);
            await FlushControlAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            Abort(new HboneProtocolException(Http2ErrorCode.CompressionError, $"HPACK error: {e.Message}"));
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Abort(e as IOException ?? new IOException($"reading from the HBONE peer failed: {e.Message}", e));
        }
        finally
        {
            await _reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static bool TryReadPreface(ref ReadOnlySequence<byte> buffer)
    {
        var magic = H2FrameHeader.ClientPreface;
        int have = (int)Math.Min(buffer.Length, magic.Length);
        Span<byte> head = stackalloc byte[magic.Length];
        buffer.Slice(0, have).CopyTo(head);
        // Fail on the first wrong byte rather than waiting for 24 bytes a non-HTTP/2 client may never send.
        if (!head[..have].SequenceEqual(magic[..have]))
            throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, "invalid HTTP/2 connection preface");
        if (have < magic.Length)
            return false;
        buffer = buffer.Slice(magic.Length);
        return true;
    }

    private bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out H2FrameHeader header, out ReadOnlySequence<byte> payload)
    {
        payload = default;
        header = default;
        if (buffer.Length < H2FrameHeader.Size)
            return false;
        Span<byte> raw = stackalloc byte[H2FrameHeader.Size];
        buffer.Slice(0, H2FrameHeader.Size).CopyTo(raw);
        header = H2FrameHeader.Read(raw);
        // §4.2: check the length before buffering the payload.
        if (header.Length > _local.MaxFrameSize)
            throw new H2ConnectionErrorException(Http2ErrorCode.FrameSizeError, $"frame of {header.Length} octets exceeds our SETTINGS_MAX_FRAME_SIZE {_local.MaxFrameSize}");
        if (buffer.Length < H2FrameHeader.Size + header.Length)
            return false;
        payload = buffer.Slice(H2FrameHeader.Size, header.Length);
        _prefaceDone = true;
        buffer = buffer.Slice(H2FrameHeader.Size + header.Length);
        return true;
    }

    private void ProcessFrame(H2FrameHeader h, ReadOnlySequence<byte> payload)
    {
        if (!_settingsReceived && h.Type != H2FrameType.Settings)
            throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, $"first frame is {h.Type}, not SETTINGS");
        // §6.10: nothing may interleave with a header block in progress.
        if (_continuationStreamId != 0 && (h.Type != H2FrameType.Continuation || h.StreamId != _continuationStreamId))
            throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, $"{h.Type} on stream {h.StreamId} while a header block on stream {_continuationStreamId} is open");
        switch (h.Type)
        {
            case H2FrameType.Data:
                ProcessData(h, payload);
                break;
            case H2FrameType.Headers:
                ProcessHeaders(h, payload);
                break;
            case H2FrameType.Continuation:
                ProcessContinuation(h, payload);
                break;
            case H2FrameType.Priority:
                // §6.3: deprecated; only its shape is checked.
                RequireStream(h);
                if (h.Length != 5)
                    StreamError(h.StreamId, Http2ErrorCode.FrameSizeError, "PRIORITY frame not 5 octets");
                break;
            case H2FrameType.RstStream:
                ProcessRstStream(h, payload);
                break;
            case H2FrameType.Settings:
                ProcessSettings(h, payload);
                break;
            case H2FrameType.PushPromise:
                throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, "PUSH_PROMISE although push is disabled");
            case H2FrameType.Ping:
                ProcessPing(h, payload);
                break;
            case H2FrameType.GoAway:
                ProcessGoAway(h, payload);
                break;
            case H2FrameType.WindowUpdate:
                ProcessWindowUpdate(h, payload);
                break;
            default:
                break; // §4.1: unknown frame types are ignored
        }
    }

    private static void RequireStream(H2FrameHeader h)
    {
        if (h.StreamId == 0)
            throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, $"{h.Type} frame on stream 0");
    }

    private static void RequireConnection(H2FrameHeader h)
    {
        if (h.StreamId != 0)
            throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, $"{h.Type} frame on stream {h.StreamId}, must be 0");
    }

    /// <summary>Whether <paramref name="id"/> was never opened (§5.1 "idle"): frames other than HEADERS/PRIORITY on it are connection errors.</summary>
    private bool IsIdleLocked(int id) => IsPeerInitiated(id) ? id > _lastPeerStreamId : id >= _nextStreamId;

    private bool IsPeerInitiated(int id) => (id % 2 == 1) != _local.IsClient;

    private void StreamError(int streamId, Http2ErrorCode code, string message)
    {
        EnqueueRstStream(streamId, code);
        lock (_sync)
        {
            if (_streams.TryGetValue(streamId, out var stream))
                ResetLocked(stream, new HboneProtocolException(code, $"HBONE stream {streamId} failed: {message}"));
        }
    }

    private void ProcessData(H2FrameHeader h, ReadOnlySequence<byte> payload)
    {
        RequireStream(h);
        int padding = ReadPadding(h, ref payload);
        int dataLength = (int)payload.Length;
        HboneStream? stream;
        lock (_sync)
        {
            // §6.9.1: flow control counts the whole payload, padding included.
            if (h.Length > _connRecvWindow)
                throw new H2ConnectionErrorException(Http2ErrorCode.FlowControlError, $"DATA of {h.Length} octets exceeds the connection window {_connRecvWindow}");
            _connRecvWindow -= h.Length;
            if (!_streams.TryGetValue(h.StreamId, out stream))
            {
                if (IsIdleLocked(h.StreamId))
                    throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, $"DATA on idle stream {h.StreamId}");
                // A stream we already closed or reset: drop the data but give the connection window back.
                CreditConnectionLocked(h.Length);
                return;
            }
            if (stream.RemoteClosed)
            {
                CreditConnectionLocked(h.Length);
                stream = null;
            }
            else if (h.Length > stream.RecvWindow)
            {
                CreditConnectionLocked(h.Length);
                stream = null;
                padding = -1;
            }
            else
            {
                stream.RecvWindow -= h.Length;
                int overhead = h.Length - dataLength; // pad length octet + padding: consumed on arrival
                CreditConnectionLocked(overhead);
                stream.ConsumedUnacked += overhead;
                stream.Buffered += dataLength;
            }
        }
        if (stream is null)
        {
            StreamError(h.StreamId, padding < 0 ? Http2ErrorCode.FlowControlError : Http2ErrorCode.StreamClosed,
                padding < 0 ? "DATA beyond the stream window" : "DATA after END_STREAM");
            return;
        }
        if (!stream.Deliver(payload))
        {
            // The application already walked away from this stream: nobody will consume these bytes.
            lock (_sync)
                ReturnBufferedLocked(stream);
        }
        if (h.HasFlag(H2Flags.EndStream))
            RemoteEnd(stream);
    }

    private static int ReadPadding(H2FrameHeader h, ref ReadOnlySequence<byte> payload)
    {
        if (!h.HasFlag(H2Flags.Padded))
            return 0;
        if (payload.Length < 1)
            throw new H2ConnectionErrorException(Http2ErrorCode.FrameSizeError, $"padded {h.Type} without a pad length");
        int padLength = payload.FirstSpan[0];
        // §6.1: padding as long as the payload (or longer) is a connection error.
        if (padLength >= payload.Length)
            throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, $"{h.Type} padding {padLength} is not shorter than the payload");
        payload = payload.Slice(1, payload.Length - 1 - padLength);
        return padLength;
    }

    private void RemoteEnd(HboneStream stream)
    {
        stream.CompleteRemote();
        lock (_sync)
        {
            stream.RemoteClosed = true;
            if (stream.LocalClosed)
                RemoveStreamLocked(stream);
        }
    }

    private void ProcessHeaders(H2FrameHeader h, ReadOnlySequence<byte> payload)
    {
        RequireStream(h);
        ReadPadding(h, ref payload);
        if (h.HasFlag(H2Flags.Priority))
        {
            if (payload.Length < 5)
                throw new H2ConnectionErrorException(Http2ErrorCode.FrameSizeError, "HEADERS priority fields truncated");
            payload = payload.Slice(5);
        }
        _headerBlock.ResetWrittenCount();
        AppendHeaderFragment(payload);
        _continuationEndStream = h.HasFlag(H2Flags.EndStream);
        if (h.HasFlag(H2Flags.EndHeaders))
            ProcessHeaderBlock(h.StreamId, _continuationEndStream);
        else
            _continuationStreamId = h.StreamId;
    }

    private void ProcessContinuation(H2FrameHeader h, ReadOnlySequence<byte> payload)
    {
        if (_continuationStreamId == 0)
            throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, "CONTINUATION without a header block in progress");
        AppendHeaderFragment(payload);
        if (h.HasFlag(H2Flags.EndHeaders))
        {
            _continuationStreamId = 0;
            ProcessHeaderBlock(h.StreamId, _continuationEndStream);
        }
    }

    private void AppendHeaderFragment(ReadOnlySequence<byte> fragment)
    {
        // A compressed block is never larger than the list it encodes plus a little; beyond that it is a CONTINUATION flood.
        if (_headerBlock.WrittenCount + fragment.Length > _local.MaxHeaderListSize + 16 * 1024)
            throw new H2ConnectionErrorException(Http2ErrorCode.EnhanceYourCalm, "header block larger than our header list limit");
        foreach (var segment in fragment)
        {
            segment.Span.CopyTo(_headerBlock.GetSpan(segment.Length));
            _headerBlock.Advance(segment.Length);
        }
    }

    private void ProcessHeaderBlock(int streamId, bool endStream)
    {
        // Decoded before anything else: the HPACK table must see every block, even ones we refuse (RFC 9113 §4.3).
        var headers = new List<KeyValuePair<string, string>>();
        _decoder.Decode(_headerBlock.WrittenSpan, headers, out bool tooLarge);
        if (_local.IsClient)
            ProcessResponseHeaders(streamId, headers, tooLarge, endStream);
        else
            ProcessRequestHeaders(streamId, headers, tooLarge, endStream);
    }

    private void ProcessResponseHeaders(int streamId, List<KeyValuePair<string, string>> headers, bool tooLarge, bool endStream)
    {
        HboneStream? stream;
        lock (_sync)
        {
            if (IsPeerInitiated(streamId))
                throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, $"server opened stream {streamId}");
            if (!_streams.TryGetValue(streamId, out stream))
            {
                if (IsIdleLocked(streamId))
                    throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, $"HEADERS on idle stream {streamId}");
                return; // late response on a stream we reset
            }
        }
        if (stream.HasResponse)
        {
            // Trailers: must end the stream (RFC 9113 §8.1).
            if (!endStream)
                StreamError(streamId, Http2ErrorCode.ProtocolError, "second HEADERS without END_STREAM");
            else
                RemoteEnd(stream);
            return;
        }
        if (tooLarge)
        {
            StreamError(streamId, Http2ErrorCode.ProtocolError, "response headers exceed our header list limit");
            return;
        }
        int status = 0;
        var regular = new List<KeyValuePair<string, string>>(headers.Count);
        foreach (var kv in headers)
        {
            if (kv.Key == ":status")
                int.TryParse(kv.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out status);
            else if (!kv.Key.StartsWith(':'))
                regular.Add(kv);
        }
        if (status is < 100 or > 999)
        {
            StreamError(streamId, Http2ErrorCode.ProtocolError, "response without a valid :status");
            return;
        }
        if (status < 200)
            return; // §8.1: informational responses precede the final one
        stream.SetResponse(status, regular);
        if (endStream)
            RemoteEnd(stream);
    }

    private void ProcessRequestHeaders(int streamId, List<KeyValuePair<string, string>> headers, bool tooLarge, bool endStream)
    {
        HboneStream stream;
        lock (_sync)
        {
            if (_streams.TryGetValue(streamId, out var existing))
            {
                stream = existing;
                headers = null!; // trailers: handled below
            }
            else
            {
                if (!IsPeerInitiated(streamId) || streamId <= _lastPeerStreamId)
                    throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, $"HEADERS opening stream {streamId} out of order (last {_lastPeerStreamId})");
                if (_goingAway)
                {
                    // Above our GOAWAY's last stream id: the client retries elsewhere (§6.8).
                    EnqueueRstStream(streamId, Http2ErrorCode.RefusedStream);
                    return;
                }
                _lastPeerStreamId = streamId;
                if (_activeStreams >= _local.MaxConcurrentStreams)
                {
                    EnqueueRstStream(streamId, Http2ErrorCode.RefusedStream);
                    return;
                }
                stream = new HboneStream(this, streamId, _peerInitialWindow, _local.StreamWindow);
                _streams[streamId] = stream;
                _activeStreams++;
                if (tooLarge)
                {
                    // 431 (RFC 6585) and done: the stream never reaches the handler.
                    SendResponse(stream, 431, null, endStream: true);
                    if (!endStream)
                    {
                        EnqueueRstStream(streamId, Http2ErrorCode.NoError);
                        ResetLocked(stream, new IOException("request headers too large"));
                    }
                    else
                    {
                        stream.RemoteClosed = true;
                        RemoveStreamLocked(stream);
                    }
                    return;
                }
            }
        }
        if (headers is null)
        {
            // Trailers must end the stream (RFC 9113 §8.1).
            if (endStream)
                RemoteEnd(stream);
            else
                StreamError(streamId, Http2ErrorCode.ProtocolError, "second HEADERS without END_STREAM");
            return;
        }
        if (endStream)
            RemoteEnd(stream);
        OnRequest?.Invoke(stream, headers);
    }

    private void ProcessRstStream(H2FrameHeader h, ReadOnlySequence<byte> payload)
    {
        RequireStream(h);
        if (h.Length != 4)
            throw new H2ConnectionErrorException(Http2ErrorCode.FrameSizeError, "RST_STREAM not 4 octets");
        Span<byte> p = stackalloc byte[4];
        payload.CopyTo(p);
        var code = (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(p);
        lock (_sync)
        {
            if (!_streams.TryGetValue(h.StreamId, out var stream))
            {
                if (IsIdleLocked(h.StreamId))
                    throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, $"RST_STREAM on idle stream {h.StreamId}");
                return;
            }
            IOException error = code == Http2ErrorCode.RefusedStream
                ? new HboneStreamRefusedException($"the HBONE peer refused stream {h.StreamId}")
                : new HboneProtocolException(code, $"the HBONE peer reset stream {h.StreamId} ({code})");
            ResetLocked(stream, error);
        }
    }

    private void ProcessSettings(H2FrameHeader h, ReadOnlySequence<byte> payload)
    {
        RequireConnection(h);
        if (h.HasFlag(H2Flags.Ack))
        {
            if (h.Length != 0)
                throw new H2ConnectionErrorException(Http2ErrorCode.FrameSizeError, "SETTINGS ACK with a payload");
            return;
        }
        if (h.Length % 6 != 0)
            throw new H2ConnectionErrorException(Http2ErrorCode.FrameSizeError, "SETTINGS length not a multiple of 6");
        _settingsReceived = true;
        Span<byte> entry = stackalloc byte[6];
        lock (_sync)
        {
            for (long off = 0; off < payload.Length; off += 6)
            {
                payload.Slice(off, 6).CopyTo(entry);
                ushort id = BinaryPrimitives.ReadUInt16BigEndian(entry);
                uint value = BinaryPrimitives.ReadUInt32BigEndian(entry[2..]);
                switch (id)
                {
                    case H2Setting.EnablePush:
                        if (value > 1 || (_local.IsClient && value != 0))
                            throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, $"SETTINGS_ENABLE_PUSH {value}");
                        break;
                    case H2Setting.MaxConcurrentStreams:
                        _peerMaxConcurrentStreams = (int)Math.Min(value, int.MaxValue);
                        break;
                    case H2Setting.InitialWindowSize:
                        if (value > H2FrameHeader.MaxWindow)
                            throw new H2ConnectionErrorException(Http2ErrorCode.FlowControlError, $"SETTINGS_INITIAL_WINDOW_SIZE {value}");
                        // §6.9.2: the change applies to every open stream's send window.
                        long delta = value - (long)_peerInitialWindow;
                        _peerInitialWindow = (int)value;
                        foreach (var s in _streams.Values)
                        {
                            s.SendWindow += delta;
                            if (s.SendWindow > H2FrameHeader.MaxWindow)
                                throw new H2ConnectionErrorException(Http2ErrorCode.FlowControlError, $"stream {s.Id} window overflow after SETTINGS");
                        }
                        SignalWindowLocked();
                        break;
                    case H2Setting.MaxFrameSize:
                        if (value is < H2FrameHeader.DefaultMaxFrameSize or > H2FrameHeader.MaxAllowedFrameSize)
                            throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, $"SETTINGS_MAX_FRAME_SIZE {value}");
                        _peerMaxFrameSize = (int)value;
                        break;
                    default:
                        break; // HEADER_TABLE_SIZE: our encoder never indexes; MAX_HEADER_LIST_SIZE: our blocks are tiny; unknown: ignored
                }
            }
        }
        EnqueueFrame(H2FrameType.Settings, H2Flags.Ack, 0, []);
    }

    private void ProcessPing(H2FrameHeader h, ReadOnlySequence<byte> payload)
    {
        RequireConnection(h);
        if (h.Length != 8)
            throw new H2ConnectionErrorException(Http2ErrorCode.FrameSizeError, "PING not 8 octets");
        Span<byte> p = stackalloc byte[8];
        payload.CopyTo(p);
        if (h.HasFlag(H2Flags.Ack))
        {
            long value = BinaryPrimitives.ReadInt64BigEndian(p);
            lock (_sync)
            {
                if (value == _pingPayload)
                    _pingAck?.TrySetResult(true);
            }
            return;
        }
        EnqueueFrame(H2FrameType.Ping, H2Flags.Ack, 0, p);
    }

    private void ProcessGoAway(H2FrameHeader h, ReadOnlySequence<byte> payload)
    {
        RequireConnection(h);
        if (h.Length < 8)
            throw new H2ConnectionErrorException(Http2ErrorCode.FrameSizeError, "GOAWAY shorter than 8 octets");
        Span<byte> p = stackalloc byte[8];
        payload.Slice(0, 8).CopyTo(p);
        int lastStreamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(p) & 0x7FFF_FFFF);
        var code = (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(p[4..]);
        HboneLog.GoAwayReceived(_logger, Id, code, lastStreamId);
        bool closeNow;
        lock (_sync)
        {
            _goingAway = true;
            _goAwayLastStreamId = Math.Min(_goAwayLastStreamId, lastStreamId);
            // §6.8: streams we opened above the last id were not processed and may be retried elsewhere.
            foreach (var s in _streams.Values.Where(s => !IsPeerInitiated(s.Id) && s.Id > lastStreamId).ToList())
                ResetLocked(s, new HboneStreamRefusedException($"the HBONE peer's GOAWAY did not include stream {s.Id}"));
            closeNow = _activeStreams == 0 && _local.IsClient;
        }
        StateChanged?.Invoke(this);
        if (closeNow)
            _ = Task.Run(CloseGracefullyAsync);
    }

    private void ProcessWindowUpdate(H2FrameHeader h, ReadOnlySequence<byte> payload)
    {
        if (h.Length != 4)
            throw new H2ConnectionErrorException(Http2ErrorCode.FrameSizeError, "WINDOW_UPDATE not 4 octets");
        Span<byte> p = stackalloc byte[4];
        payload.CopyTo(p);
        int increment = (int)(BinaryPrimitives.ReadUInt32BigEndian(p) & 0x7FFF_FFFF);
        if (h.StreamId == 0)
        {
            if (increment == 0)
                throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, "connection WINDOW_UPDATE of 0");
            lock (_sync)
            {
                _connSendWindow += increment;
                if (_connSendWindow > H2FrameHeader.MaxWindow)
                    throw new H2ConnectionErrorException(Http2ErrorCode.FlowControlError, "connection send window above 2^31-1");
                SignalWindowLocked();
            }
            return;
        }
        bool overflow = false;
        lock (_sync)
        {
            if (!_streams.TryGetValue(h.StreamId, out var stream))
            {
                if (IsIdleLocked(h.StreamId))
                    throw new H2ConnectionErrorException(Http2ErrorCode.ProtocolError, $"WINDOW_UPDATE on idle stream {h.StreamId}");
                return;
            }
            if (increment == 0)
            {
                overflow = true;
            }
            else
            {
                stream.SendWindow += increment;
                overflow = stream.SendWindow > H2FrameHeader.MaxWindow;
                SignalWindowLocked();
            }
        }
        if (overflow)
            StreamError(h.StreamId, increment == 0 ? Http2ErrorCode.ProtocolError : Http2ErrorCode.FlowControlError, "bad stream WINDOW_UPDATE");
    }

    /// <summary>The application consumed <paramref name="n"/> octets of <paramref name="stream"/>: replenish windows at half use.</summary>
    internal void OnConsumed(HboneStream stream, int n)
    {
        lock (_sync)
        {
            stream.Buffered -= n;
            if (_streams.ContainsKey(stream.Id) && !stream.RemoteClosed)
            {
                stream.ConsumedUnacked += n;
                if (stream.ConsumedUnacked >= _local.StreamWindow / 2)
                {
                    stream.RecvWindow += stream.ConsumedUnacked;
                    EnqueueWindowUpdate(stream.Id, stream.ConsumedUnacked);
                    stream.ConsumedUnacked = 0;
                }
            }
            CreditConnectionLocked(n);
        }
    }

    /// <summary>Returns octets to the connection receive window, sending WINDOW_UPDATE once half of it is owed.</summary>
    private void CreditConnectionLocked(long n)
    {
        if (_failure is not null)
            return;
        _connConsumedUnacked += n;
        if (_connConsumedUnacked >= _local.ConnectionWindow / 2)
        {
            _connRecvWindow += _connConsumedUnacked;
            EnqueueWindowUpdate(0, _connConsumedUnacked);
            _connConsumedUnacked = 0;
        }
    }

    /// <summary>Bytes buffered for a stream nobody will read any more go back to the connection window.</summary>
    private void ReturnBufferedLocked(HboneStream stream)
    {
        if (stream.Buffered > 0)
        {
            CreditConnectionLocked(stream.Buffered);
            stream.Buffered = 0;
        }
    }

    /// <summary>A disposed stream's unread bytes go back to the connection window.</summary>
    internal void ReleaseBuffered(HboneStream stream)
    {
        lock (_sync)
            ReturnBufferedLocked(stream);
    }
}
