namespace Ambient.Hbone.Internal;

/// <summary>What one side of a connection advertises and enforces; built from the client or server options.</summary>
internal sealed record H2ConnectionSettings(
    bool IsClient,
    int StreamWindow,
    int ConnectionWindow,
    int MaxFrameSize,
    int MaxHeaderListSize,
    int MaxConcurrentStreams,
    TimeSpan PingInterval,
    TimeSpan PingTimeout)
{
    /// <summary>The HPACK table we let the peer use (the RFC default, so we never need to send a size change).</summary>
    public const int HeaderTableSize = 4096;

    public static H2ConnectionSettings From(HboneClientOptions o) => new(true, o.StreamWindow, o.ConnectionWindow, o.MaxFrameSize,
        o.MaxHeaderListSize, o.MaxStreamsPerConnection, o.PingInterval, o.PingTimeout);

    public static H2ConnectionSettings From(HboneServerOptions o) => new(false, o.StreamWindow, o.ConnectionWindow, o.MaxFrameSize,
        o.MaxHeaderListSize, o.MaxConcurrentStreams, o.PingInterval, o.PingTimeout);

    public void Validate()
    {
        if (StreamWindow is < H2FrameHeader.DefaultWindow or > H2FrameHeader.MaxWindow)
            throw new ArgumentOutOfRangeException(nameof(StreamWindow), StreamWindow, "must be between 65535 and 2^31-1 (RFC 9113 §6.9.2)");
        if (ConnectionWindow is < H2FrameHeader.DefaultWindow or > H2FrameHeader.MaxWindow)
            throw new ArgumentOutOfRangeException(nameof(ConnectionWindow), ConnectionWindow, "must be between 65535 and 2^31-1");
        if (MaxFrameSize is < H2FrameHeader.DefaultMaxFrameSize or > H2FrameHeader.MaxAllowedFrameSize)
            throw new ArgumentOutOfRangeException(nameof(MaxFrameSize), MaxFrameSize, "must be between 16384 and 16777215 (RFC 9113 §6.5.2)");
        if (MaxConcurrentStreams < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentStreams), MaxConcurrentStreams, "must be positive");
    }
}

/// <summary>A connection error (RFC 9113 §5.4.1): we send GOAWAY with <see cref="Code"/> and close.</summary>
internal sealed class H2ConnectionErrorException(Http2ErrorCode code, string message) : Exception(message)
{
    public Http2ErrorCode Code { get; } = code;
}
