namespace Ambient.Hbone;

/// <summary>HBONE server settings; defaults are ztunnel's (protocol facts §f).</summary>
public sealed record HboneServerOptions
{
    /// <summary>SETTINGS_MAX_CONCURRENT_STREAMS; more open streams are refused with RST_STREAM REFUSED_STREAM.</summary>
    public int MaxConcurrentStreams { get; init; } = 200;

    public int MaxHeaderListSize { get; init; } = 64 * 1024;
    public int StreamWindow { get; init; } = 4 * 1024 * 1024;
    public int ConnectionWindow { get; init; } = 16 * 1024 * 1024;
    public int MaxFrameSize { get; init; } = 1024 * 1024;
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan PingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>After GOAWAY on shutdown, how long open streams may keep running before the connection is closed.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
