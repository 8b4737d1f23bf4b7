namespace Ambient.Xds.Client;

/// <summary>Where and as whom a <see cref="DeltaAdsClient"/> connects, and how it retries.</summary>
public sealed record DeltaAdsClientOptions
{
    /// <summary>
    /// The control plane: <c>http://host:port</c> or <c>host:port</c> (plaintext h2c), or a Unix socket given as
    /// <c>unix:///path</c>, <c>unix:/path</c> or an absolute path <c>/path</c>. Over a Unix socket the HTTP/2
    /// <c>:authority</c> is <c>localhost</c>.
    /// </summary>
    public required string Address { get; init; }

    /// <summary>The xDS node id (ztunnel: <c>ztunnel~&lt;ip&gt;~&lt;pod&gt;.&lt;ns&gt;~&lt;ns&gt;.svc.cluster.local</c>).</summary>
    public string NodeId { get; init; } = "";

    /// <summary>Node metadata, sent as string values of <c>node.metadata</c> (e.g. NAME, NAMESPACE, NODE_NAME).</summary>
    public IReadOnlyDictionary<string, string> NodeMetadata { get; init; } = new Dictionary<string, string>();

    /// <summary><c>node.user_agent_name</c>.</summary>
    public string UserAgentName { get; init; } = "ambient";

    /// <summary>Extra request headers on every stream (e.g. <c>clusterid</c>, later <c>authorization</c>).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>First reconnect delay; doubles per failed attempt up to <see cref="MaxBackoff"/> (ztunnel: 10 ms → 15 s).</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(10);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Each delay is scaled by a random factor in [1 − Jitter, 1 + Jitter] (capped at <see cref="MaxBackoff"/>).</summary>
    public double Jitter { get; init; } = 0.2;

    /// <summary>TCP / Unix-socket connect timeout of one attempt.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>HTTP/2 PING interval and timeout that detect a dead control plane on an idle stream.</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Largest response accepted (a full WDS push of a large mesh is big).</summary>
    public int MaxReceiveMessageSize { get; init; } = 64 * 1024 * 1024;

    /// <summary>Hook to adjust the HTTP handler (TLS client certificates, later).</summary>
    public Action<SocketsHttpHandler>? ConfigureHandler { get; init; }
}
