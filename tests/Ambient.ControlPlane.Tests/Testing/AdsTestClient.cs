using System.Threading.Channels;
using Ambient.Xds.Protos.Core;
using Ambient.Xds.Protos.Discovery;
using Grpc.Core;
using Grpc.Net.Client;
using Ads = Ambient.Xds.Protos.Discovery.AggregatedDiscoveryService;
using RpcStatus = Ambient.Xds.Protos.Rpc.Status;

namespace Ambient.ControlPlane.Tests.Testing;

/// <summary>
/// One ADS stream driven by a test. A background pump moves responses into a queue, so a test can wait for the
/// next response with a timeout, or assert that nothing arrives within a window, without cancelling the call
/// (cancelling a <c>MoveNext</c> token in Grpc.Net.Client cancels the whole call). A client created paused reads
/// nothing from the socket until <see cref="ResumeReading"/>: HTTP/2 flow control then pushes back on the server.
/// </summary>
public abstract class AdsTestClient<TRequest, TResponse> : IAsyncDisposable where TRequest : class where TResponse : class
{
    /// <summary>Default bound on every wait for a response that must arrive.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<TRequest, TResponse> _call;
    private readonly Channel<TResponse> _responses = Channel.CreateUnbounded<TResponse>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _reading = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _pump;
    private int _received;

    protected AdsTestClient(GrpcChannel channel, Func<Ads.AggregatedDiscoveryServiceClient, AsyncDuplexStreamingCall<TRequest, TResponse>> open, bool paused)
    {
        _channel = channel;
        _call = open(new Ads.AggregatedDiscoveryServiceClient(channel));
        if (!paused)
            _reading.TrySetResult();
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>Responses taken off the wire so far (read or still queued).</summary>
    public int ReceivedCount => Volatile.Read(ref _received);

    /// <summary>
    /// Stops taking responses off the wire. A read already waiting still takes the next response; after that
    /// nothing is read, the client's HTTP/2 window is not replenished, and the server's writes back up.
    /// </summary>
    public void PauseReading()
    {
        if (_reading.Task.IsCompleted)
            Volatile.Write(ref _reading, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    public void ResumeReading() => Volatile.Read(ref _reading).TrySetResult();

    public Task SendAsync(TRequest request) => _call.RequestStream.WriteAsync(request);

    /// <summary>The next response; fails the test if none arrives in time or the stream ended.</summary>
    public async Task<TResponse> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return await _responses.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"no {typeof(TResponse).Name} within {(timeout ?? DefaultTimeout).TotalSeconds:0.###} s");
        }
        catch (ChannelClosedException e)
        {
            throw new InvalidOperationException($"the ADS stream ended before the expected {typeof(TResponse).Name}: {e.InnerException?.Message ?? "completed"}", e.InnerException);
        }
    }

    /// <summary>The next response, or null if none arrives within <paramref name="window"/>.</summary>
    public async Task<TResponse?> TryReceiveAsync(TimeSpan window)
    {
        using var cts = new CancellationTokenSource(window);
        try
        {
            return await _responses.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Fails if any response arrives within <paramref name="window"/> (default 500 ms).</summary>
    public async Task ExpectNoResponseAsync(TimeSpan? window = null, string because = "")
    {
        var unexpected = await TryReceiveAsync(window ?? TimeSpan.FromMilliseconds(500));
        if (unexpected is not null)
            throw new Xunit.Sdk.XunitException($"expected no response{(because.Length > 0 ? " (" + because + ")" : "")}, got: {unexpected}");
    }

    private async Task PumpAsync()
    {
        try
        {
            while (true)
            {
                await Volatile.Read(ref _reading).Task.WaitAsync(_stop.Token);
                if (!await _call.ResponseStream.MoveNext(_stop.Token))
                    break;
                Interlocked.Increment(ref _received);
                _responses.Writer.TryWrite(_call.ResponseStream.Current);
            }
            _responses.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _responses.Writer.TryComplete(e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _call.Dispose();
        try
        {
            await _pump.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }
        _channel.Dispose();
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A <c>StreamAggregatedResources</c> (state of the world) client.</summary>
public sealed class SotwAdsClient : AdsTestClient<DiscoveryRequest, DiscoveryResponse>
{
    public SotwAdsClient(GrpcChannel channel, bool paused = false) : base(channel, c => c.StreamAggregatedResources(), paused)
    {
    }

    public static SotwAdsClient Connect(TestControlPlane cp) => new(cp.CreateChannel());

    public Task RequestAsync(string typeUrl, IEnumerable<string>? names = null, string version = "", string nonce = "", string? error = null)
    {
        var request = new DiscoveryRequest
        {
            Node = new Node { Id = "sotw-test~10.0.0.1~test.default~default.svc.cluster.local" },
            TypeUrl = typeUrl,
            VersionInfo = version,
            ResponseNonce = nonce,
        };
        request.ResourceNames.Add(names ?? []);
        if (error is not null)
            request.ErrorDetail = new RpcStatus { Code = (int)StatusCode.InvalidArgument, Message = error };
        return SendAsync(request);
    }

    /// <summary>ACKs <paramref name="response"/>, keeping the subscription <paramref name="names"/>.</summary>
    public Task AckAsync(DiscoveryResponse response, IEnumerable<string>? names = null) =>
        RequestAsync(response.TypeUrl, names, response.VersionInfo, response.Nonce);

    /// <summary>NACKs <paramref name="response"/>: the previously accepted version and an error detail.</summary>
    public Task NackAsync(DiscoveryResponse response, string acceptedVersion, IEnumerable<string>? names = null) =>
        RequestAsync(response.TypeUrl, names, acceptedVersion, response.Nonce, "rejected by test");
}

/// <summary>A <c>DeltaAggregatedResources</c> (incremental) client.</summary>
public sealed class DeltaAdsClient : AdsTestClient<DeltaDiscoveryRequest, DeltaDiscoveryResponse>
{
    public DeltaAdsClient(GrpcChannel channel, bool paused = false) : base(channel, c => c.DeltaAggregatedResources(), paused)
    {
    }

    public static DeltaAdsClient Connect(TestControlPlane cp) => new(cp.CreateChannel());

    public Task RequestAsync(string typeUrl, IEnumerable<string>? subscribe = null, IEnumerable<string>? unsubscribe = null,
        IReadOnlyDictionary<string, string>? initialVersions = null, string nonce = "", string? error = null)
    {
        var request = new DeltaDiscoveryRequest
        {
            Node = new Node { Id = "delta-test~10.0.0.1~test.default~default.svc.cluster.local" },
            TypeUrl = typeUrl,
            ResponseNonce = nonce,
        };
        request.ResourceNamesSubscribe.Add(subscribe ?? []);
        request.ResourceNamesUnsubscribe.Add(unsubscribe ?? []);
        foreach (var (name, version) in initialVersions ?? new Dictionary<string, string>())
            request.InitialResourceVersions[name] = version;
        if (error is not null)
            request.ErrorDetail = new RpcStatus { Code = (int)StatusCode.InvalidArgument, Message = error };
        return SendAsync(request);
    }

    public Task AckAsync(DeltaDiscoveryResponse response) => RequestAsync(response.TypeUrl, nonce: response.Nonce);

    public Task NackAsync(DeltaDiscoveryResponse response) => RequestAsync(response.TypeUrl, nonce: response.Nonce, error: "rejected by test");
}

/// <summary>What a delta client holds for one type, built by applying responses in order.</summary>
public sealed class DeltaState
{
    public Dictionary<string, Resource> Resources { get; } = new(StringComparer.Ordinal);

    public void Apply(DeltaDiscoveryResponse response)
    {
        foreach (var name in response.RemovedResources)
            Resources.Remove(name);
        foreach (var r in response.Resources)
            Resources[r.Name] = r;
    }

    public Dictionary<string, string> Versions() => Resources.ToDictionary(kv => kv.Key, kv => kv.Value.Version, StringComparer.Ordinal);
}
