using System.Net.Sockets;
using Node = Ambient.Xds.Protos.Core.Node;
using Ambient.Xds.Protos.Discovery;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Ads = Ambient.Xds.Protos.Discovery.AggregatedDiscoveryService;
using RpcStatus = Ambient.Xds.Protos.Rpc.Status;

namespace Ambient.Xds.Client;

/// <summary>
/// A Delta ADS (<c>DeltaAggregatedResources</c>) client, the way ztunnel talks to istiod:
/// <list type="bullet">
/// <item>one stream carries every subscribed type (wildcard, or named resources changeable at run time);</item>
/// <item>every response is handed, decoded, to the type's handler as one <see cref="DeltaUpdate{T}"/>; a handler that
///   throws rejects it: the client NACKs (<c>error_detail</c>) and does not record its versions, so the handler's last
///   good state is what the client claims to hold;</item>
/// <item>accepted versions are remembered and sent as <c>initial_resource_versions</c> when the stream is reopened,
///   so a reconnect resends only what changed meanwhile (and removals);</item>
/// <item>a broken or closed stream is reopened forever with exponential backoff (10 ms doubling to 15 s, jittered),
///   reset once a stream delivers a response; only cancellation stops it.</item>
/// </list>
/// <see cref="Synced"/> completes once every subscribed type has had its first response (accepted or not).
/// Handlers run one at a time on the receive loop: a slow handler back-pressures the control plane, never queues.
/// </summary>
public sealed partial class DeltaAdsClient : IAsyncDisposable, IDisposable
{
    private readonly DeltaAdsClientOptions _options;
    private readonly ILogger _logger;
    private readonly GrpcChannel _channel;
    private readonly Ads.AggregatedDiscoveryServiceClient _client;
    private readonly Node _node;
    private readonly Lock _subsLock = new();
    private readonly Dictionary<string, Subscription> _subs = new(StringComparer.Ordinal);
    private readonly List<Subscription> _order = [];
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Serializes writes on the request stream (initial requests, ACKs, subscription changes) and guards _call,
    // Subscription.Wildcard and Subscription.Names.
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private AsyncDuplexStreamingCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse>? _call;
    private int _running;
    private volatile bool _connected;

    public DeltaAdsClient(DeltaAdsClientOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.InitialBackoff <= TimeSpan.Zero || options.MaxBackoff < options.InitialBackoff)
            throw new ArgumentException("backoff must satisfy 0 < InitialBackoff ≤ MaxBackoff", nameof(options));
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        var (uri, socketPath) = ParseAddress(options.Address);
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = options.ConnectTimeout,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        if (socketPath is not null)
        {
            handler.ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }
        options.ConfigureHandler?.Invoke(handler);
        _channel = GrpcChannel.ForAddress(uri, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = options.MaxReceiveMessageSize,
        });
        _client = new Ads.AggregatedDiscoveryServiceClient(_channel);
        _node = new Node { Id = options.NodeId, UserAgentName = options.UserAgentName, Metadata = new Struct() };
        foreach (var (k, v) in options.NodeMetadata)
            _node.Metadata.Fields[k] = Value.ForString(v);
    }

    /// <summary>The Unix socket path when connecting through one; null over TCP.</summary>
    public string? SocketPath { get; }

    /// <summary>Completes once every subscribed type has had its first response (accepted or rejected).</summary>
    public Task Synced => _synced.Task;

    /// <summary>Whether a stream is open right now.</summary>
    public bool IsConnected => _connected;

    public DeltaAdsClientCounters Counters { get; } = new();

    /// <summary>
    /// Subscribes to a type before <see cref="RunAsync"/>: wildcard (<paramref name="names"/> null) or the given names
    /// (an empty list subscribes to nothing until <see cref="UpdateSubscriptionAsync"/> adds names).
    /// <paramref name="onUpdate"/> gets each response decoded; throwing rejects it (NACK).
    /// </summary>
    public DeltaAdsClient Subscribe<T>(string typeUrl, Action<DeltaUpdate<T>> onUpdate, IEnumerable<string>? names = null)
        where T : class, IMessage<T>, new()
    {
        ArgumentException.ThrowIfNullOrEmpty(typeUrl);
        ArgumentNullException.ThrowIfNull(onUpdate);
        lock (_subsLock)
        {
            if (Volatile.Read(ref _running) != 0)
                throw new InvalidOperationException("subscribe to every type before RunAsync; change names with UpdateSubscriptionAsync");
            if (_subs.ContainsKey(typeUrl))
                throw new InvalidOperationException($"{typeUrl} is already subscribed");
            var sub = new Subscription<T>(typeUrl, onUpdate) { Wildcard = names is null };
            if (names is not null)
                sub.Names.UnionWith(names);
            _subs[typeUrl] = sub;
            _order.Add(sub);
        }
        return this;
    }

    /// <summary>
    /// Adds and removes names of a subscribed type (<c>*</c> toggles the wildcard). Sent at once when a stream is open,
    /// and part of the initial request of every later stream.
    /// </summary>
    public async Task UpdateSubscriptionAsync(string typeUrl, IEnumerable<string> subscribe, IEnumerable<string> unsubscribe, CancellationToken ct = default)
    {
        Subscription sub;
        lock (_subsLock)
        {
            if (!_subs.TryGetValue(typeUrl, out sub!))
                throw new InvalidOperationException($"{typeUrl} is not subscribed");
        }
        await _writeLock.WaitAsync(ct);
        try
        {
            var request = new DeltaDiscoveryRequest { TypeUrl = typeUrl };
            foreach (var name in subscribe)
            {
                if (name == "*" ? !sub.Wildcard : sub.Names.Add(name))
                    request.ResourceNamesSubscribe.Add(name);
                if (name == "*")
                    sub.Wildcard = true;
            }
            foreach (var name in unsubscribe)
            {
                if (name == "*" ? sub.Wildcard : sub.Names.Remove(name))
                    request.ResourceNamesUnsubscribe.Add(name);
                if (name == "*")
                    sub.Wildcard = false;
            }
            if (_call is { } call && (request.ResourceNamesSubscribe.Count > 0 || request.ResourceNamesUnsubscribe.Count > 0))
            {
                try
                {
                    await call.RequestStream.WriteAsync(request, ct);
                }
                catch (Exception e) when (e is RpcException or IOException or InvalidOperationException or ObjectDisposedException)
                {
                    // The stream is going away; the next one starts from the updated subscription.
                    Log.WriteFailed(_logger, typeUrl, e.Message);
                }
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The versions the client holds for a type (what it would send as <c>initial_resource_versions</c>).</summary>
    public IReadOnlyDictionary<string, string> ResourceVersions(string typeUrl)
    {
        Subscription? sub;
        lock (_subsLock)
            _subs.TryGetValue(typeUrl, out sub);
        if (sub is null)
            return new Dictionary<string, string>();
        lock (sub.Versions)
            return new Dictionary<string, string>(sub.Versions, StringComparer.Ordinal);
    }

    /// <summary>
    /// Runs streams until <paramref name="ct"/> is cancelled, reconnecting with backoff whenever one ends.
    /// Completes normally on cancellation.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
    {
        lock (_subsLock)
        {
            if (_running != 0)
                throw new InvalidOperationException("the client is already running");
            _running = 1;
            if (_subs.Count == 0)
                _synced.TrySetResult();
        }
        var attempt = 0;
        var streams = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (streams++ > 0)
                    Interlocked.Increment(ref Counters.ReconnectsValue);
                var progress = new StreamProgress();
                string reason;
                try
                {
                    await RunStreamAsync(progress, ct);
                    reason = "the control plane closed the stream";
                }
                catch (Exception) when (ct.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref Counters.StreamFailuresValue);
                    reason = e is RpcException r ? $"{r.StatusCode}: {r.Status.Detail}" : $"{e.GetType().Name}: {e.Message}";
                }
                if (progress.GotResponse)
                    attempt = 0;
                var delay = Backoff(attempt++);
                Log.StreamEnded(_logger, _options.Address, reason, delay.TotalMilliseconds);
                try
                {
                    await Task.Delay(delay, ct);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            _connected = false;
            lock (_subsLock)
                _running = 0;
        }
    }

    /// <summary>The delay before reconnect attempt <paramref name="attempt"/> (0-based): doubling, capped, jittered.</summary>
    public TimeSpan Backoff(int attempt)
    {
        var factor = Math.Pow(2, Math.Min(attempt, 30));
        var baseMs = Math.Min(_options.MaxBackoff.TotalMilliseconds, _options.InitialBackoff.TotalMilliseconds * factor);
        var jitter = 1 + _options.Jitter * (2 * Random.Shared.NextDouble() - 1);
        return TimeSpan.FromMilliseconds(Math.Min(_options.MaxBackoff.TotalMilliseconds, baseMs * jitter));
    }

    private sealed class StreamProgress
    {
        public bool GotResponse;
    }

    private async Task RunStreamAsync(StreamProgress progress, CancellationToken ct)
    {
        var headers = new Grpc.Core.Metadata();
        foreach (var (k, v) in _options.Headers)
            headers.Add(k, v);
        using var call = _client.DeltaAggregatedResources(headers, cancellationToken: ct);
        Subscription[] subs;
        lock (_subsLock)
            subs = [.. _order];

        await _writeLock.WaitAsync(ct);
        try
        {
            var first = true;
            foreach (var sub in subs)
            {
                var request = InitialRequest(sub);
                if (first)
                    request.Node = _node;
                first = false;
                sub.FirstOnStream = true;
                await call.RequestStream.WriteAsync(request, ct);
            }
            _call = call;
        }
        finally
        {
            _writeLock.Release();
        }
        _connected = true;
        Log.StreamOpened(_logger, _options.Address, _options.NodeId, subs.Length);
        try
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync(ct))
            {
                progress.GotResponse = true;
                Interlocked.Increment(ref Counters.ResponsesValue);
                await HandleResponseAsync(call, response, ct);
            }
        }
        finally
        {
            _connected = false;
            await _writeLock.WaitAsync(CancellationToken.None);
            _call = null;
            _writeLock.Release();
        }
    }

    private static DeltaDiscoveryRequest InitialRequest(Subscription sub)
    {
        var request = new DeltaDiscoveryRequest { TypeUrl = sub.TypeUrl };
        if (sub.Wildcard)
            request.ResourceNamesSubscribe.Add("*");
        request.ResourceNamesSubscribe.Add(sub.Names.Order(StringComparer.Ordinal));
        if (request.ResourceNamesSubscribe.Count == 0)
        {
            // An empty first request is a legacy wildcard; "subscribe and unsubscribe *" means "nothing yet" (ztunnel).
            request.ResourceNamesSubscribe.Add("*");
            request.ResourceNamesUnsubscribe.Add("*");
        }
        lock (sub.Versions)
        {
            foreach (var (name, version) in sub.Versions)
                request.InitialResourceVersions[name] = version;
        }
        return request;
    }

    private async Task HandleResponseAsync(AsyncDuplexStreamingCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse> call,
        DeltaDiscoveryResponse response, CancellationToken ct)
    {
        Subscription? sub;
        lock (_subsLock)
            _subs.TryGetValue(response.TypeUrl, out sub);
        string? error = null;
        if (sub is null)
        {
            error = $"not subscribed to {response.TypeUrl}";
        }
        else
        {
            var firstOnStream = sub.FirstOnStream;
            sub.FirstOnStream = false;
            try
            {
                sub.Apply(response, firstOnStream);
                lock (sub.Versions)
                {
                    foreach (var name in response.RemovedResources)
                        sub.Versions.Remove(name);
                    foreach (var r in response.Resources)
                        sub.Versions[r.Name] = r.Version;
                }
                Log.Applied(_logger, response.TypeUrl, response.Resources.Count, response.RemovedResources.Count, response.Nonce);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                error = e is XdsRejectedException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            }
        }

        var reply = new DeltaDiscoveryRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce };
        if (error is not null)
        {
            // INVALID_ARGUMENT, as Envoy and ztunnel report rejected config.
            reply.ErrorDetail = new RpcStatus { Code = (int)StatusCode.InvalidArgument, Message = error };
            Interlocked.Increment(ref Counters.NacksValue);
            Log.Rejected(_logger, response.TypeUrl, response.Nonce, error);
        }
        else
        {
            Interlocked.Increment(ref Counters.AcksValue);
        }
        await _writeLock.WaitAsync(ct);
        try
        {
            await call.RequestStream.WriteAsync(reply, ct);
        }
        finally
        {
            _writeLock.Release();
        }

        if (sub is not null && !sub.GotFirstResponse)
        {
            sub.GotFirstResponse = true;
            bool all;
            lock (_subsLock)
                all = _order.TrueForAll(s => s.GotFirstResponse);
            if (all && _synced.TrySetResult())
                Log.Synced(_logger, _options.Address, _order.Count);
        }
    }

    /// <summary>Splits an address into the URI gRPC uses and, for Unix sockets, the socket path.</summary>
    public static (Uri Uri, string? SocketPath) ParseAddress(string address)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        string? path = null;
        if (address.StartsWith("unix://", StringComparison.Ordinal))
            path = address["unix://".Length..];
        else if (address.StartsWith("unix:", StringComparison.Ordinal))
            path = address["unix:".Length..];
        else if (address.StartsWith('/'))
            path = address;
        if (path is not null)
        {
            if (path.Length == 0)
                throw new ArgumentException($"'{address}' names no socket path");
            return (new Uri("http://localhost"), path);
        }
        if (address.Contains("://", StringComparison.Ordinal))
        {
            var uri = new Uri(address);
            if (uri.Scheme is not ("http" or "https"))
                throw new ArgumentException($"'{address}': only http://, https://, unix: or a socket path are supported");
            return (uri, null);
        }
        return (new Uri("http://" + address), null);
    }

    public void Dispose()
    {
        _channel.Dispose();
        _writeLock.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private abstract class Subscription(string typeUrl)
    {
        public string TypeUrl { get; } = typeUrl;
        public bool Wildcard;
        public readonly HashSet<string> Names = new(StringComparer.Ordinal);

        /// <summary>name → version of what the handler accepted; lock on the dictionary.</summary>
        public readonly Dictionary<string, string> Versions = new(StringComparer.Ordinal);

        public bool GotFirstResponse;
        public bool FirstOnStream;

        /// <summary>Decodes and hands the response to the handler; throws to reject.</summary>
        public abstract void Apply(DeltaDiscoveryResponse response, bool firstOnStream);
    }

    private sealed class Subscription<T>(string typeUrl, Action<DeltaUpdate<T>> handler) : Subscription(typeUrl)
        where T : class, IMessage<T>, new()
    {
        public override void Apply(DeltaDiscoveryResponse response, bool firstOnStream)
        {
            var updated = new List<DeltaResource<T>>(response.Resources.Count);
            foreach (var r in response.Resources)
            {
                if (r.Name.Length == 0)
                    throw new XdsRejectedException("a resource has no name");
                if (r.Resource_ is null)
                    throw new XdsRejectedException($"resource {r.Name} has no body");
                if (r.Resource_.TypeUrl != TypeUrl)
                    throw new XdsRejectedException($"resource {r.Name} is a {r.Resource_.TypeUrl}, not a {TypeUrl}");
                T message;
                try
                {
                    message = r.Resource_.Unpack<T>();
                }
                catch (InvalidProtocolBufferException e)
                {
                    throw new XdsRejectedException($"resource {r.Name} does not decode as {typeof(T).Name}: {e.Message}");
                }
                updated.Add(new DeltaResource<T>(r.Name, r.Version, message));
            }
            handler(new DeltaUpdate<T>(TypeUrl, updated, [.. response.RemovedResources], response.SystemVersionInfo, firstOnStream));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "xDS stream to {Address} opened (node {NodeId}, {Types} types)")]
        public static partial void StreamOpened(ILogger logger, string address, string nodeId, int types);

        [LoggerMessage(2, LogLevel.Warning, "xDS stream to {Address} ended ({Reason}); reconnecting in {DelayMs:F0} ms")]
        public static partial void StreamEnded(ILogger logger, string address, string reason, double delayMs);

        [LoggerMessage(3, LogLevel.Warning, "Rejected {TypeUrl} response {Nonce} (NACK), keeping the last good state: {Error}")]
        public static partial void Rejected(ILogger logger, string typeUrl, string nonce, string error);

        [LoggerMessage(4, LogLevel.Debug, "Applied {TypeUrl} response {Nonce}: {Updated} updated, {Removed} removed")]
        public static partial void Applied(ILogger logger, string typeUrl, int updated, int removed, string nonce);

        [LoggerMessage(5, LogLevel.Information, "xDS from {Address} synced: every one of {Types} types has had its first response")]
        public static partial void Synced(ILogger logger, string address, int types);

        [LoggerMessage(6, LogLevel.Debug, "Could not send the subscription change for {TypeUrl} ({Reason}); the next stream carries it")]
        public static partial void WriteFailed(ILogger logger, string typeUrl, string reason);
    }
}
