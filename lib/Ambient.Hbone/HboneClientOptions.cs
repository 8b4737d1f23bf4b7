namespace Ambient.Hbone;

/// <summary>HBONE client settings; defaults are ztunnel's (protocol facts §f).</summary>
public sealed record HboneClientOptions
{
    /// <summary>Streams on one connection before the pool opens another (POOL_MAX_STREAMS_PER_CONNECTION).</summary>
    public int MaxStreamsPerConnection { get; init; } = 100;

    /// <summary>SETTINGS_INITIAL_WINDOW_SIZE we advertise: how much one stream may have in flight towards us.</summary>
    public int StreamWindow { get; init; } = 4 * 1024 * 1024;

    /// <summary>Connection-level receive window (raised from 64 KiB by a WINDOW_UPDATE right after the preface).</summary>
    public int ConnectionWindow { get; init; } = 16 * 1024 * 1024;

    /// <summary>SETTINGS_MAX_FRAME_SIZE we advertise (largest frame we accept).</summary>
    public int MaxFrameSize { get; init; } = 1024 * 1024;

    /// <summary>SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce on responses.</summary>
    public int MaxHeaderListSize { get; init; } = 16 * 1024;

    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan PingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>A connection without streams for this long is closed (POOL_UNUSED_RELEASE_TIMEOUT).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Bound on opening a connection (TCP + TLS), like ztunnel's outbound connect timeout.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
