using System.Threading.Channels;
using Ambient.Xds.Client;
using Ambient.Xds.Protos.Discovery;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Ads = Ambient.Xds.Protos.Discovery.AggregatedDiscoveryService;

namespace Ambient.ControlPlane.Tests.AdsClient;

/// <summary>
/// Records what a <see cref="DeltaAdsClient"/> hands a type's handler, applies it to a name → resource map, and can
/// reject updates (the handler then throws, which makes the client NACK).
/// </summary>
public sealed class UpdateCollector<T> where T : class, IMessage<T>, new()
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, T> _state = new(StringComparer.Ordinal);
    private readonly Channel<DeltaUpdate<T>> _updates = Channel.CreateUnbounded<DeltaUpdate<T>>();
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Returns a reason to reject an update, or null to accept it.</summary>
    public Func<DeltaUpdate<T>, string?>? Reject { get; set; }

    public void Handle(DeltaUpdate<T> update)
    {
        if (Reject?.Invoke(update) is { } reason)
            throw new XdsRejectedException(reason);
        lock (_lock)
        {
            foreach (var name in update.Removed)
                _state.Remove(name);
            foreach (var r in update.Updated)
                _state[r.Name] = r.Resource;
        }
        _updates.Writer.TryWrite(update);
        _changed.Writer.TryWrite(true);
    }

    public IReadOnlyDictionary<string, T> State
    {
        get
        {
            lock (_lock)
                return new Dictionary<string, T>(_state, StringComparer.Ordinal);
        }
    }

    public IReadOnlyList<string> Names => [.. State.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The next accepted update; fails if none arrives in time.</summary>
    public async Task<DeltaUpdate<T>> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            return await _updates.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no {typeof(T).Name} update within {(timeout ?? TimeSpan.FromSeconds(10)).TotalSeconds} s");
        }
    }

    /// <summary>Drops updates received so far (to wait for what comes next).</summary>
    public void DrainUpdates()
    {
        while (_updates.Reader.TryRead(out _))
        {
        }
    }

    /// <summary>Waits until the applied state satisfies <paramref name="condition"/>.</summary>
    public async Task WaitForAsync(Func<IReadOnlyDictionary<string, T>, bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition(State))
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"{typeof(T).Name} state never became {what}; it holds [{string.Join(", ", Names)}]");
            using var cts = new CancellationTokenSource(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
            try
            {
                await _changed.Reader.ReadAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}

/// <summary>A client running in the background for one test; disposing cancels it and waits (bounded) for it to stop.</summary>
public sealed class ClientRun : IAsyncDisposable
{
    private readonly CancellationTokenSource _cts = new();

    public ClientRun(DeltaAdsClient client)
    {
        Client = client;
        Task = Task.Run(() => client.RunAsync(_cts.Token));
    }

    public DeltaAdsClient Client { get; }
    public Task Task { get; }

    public async Task WaitSyncedAsync(TimeSpan? timeout = null) => await Client.Synced.WaitAsync(timeout ?? TimeSpan.FromSeconds(10));

    public async Task StopAsync()
    {
        await _cts.CancelAsync();
        await Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    public async ValueTask DisposeAsync()
    {
        if (!Task.IsCompleted)
            await StopAsync();
        Client.Dispose();
        _cts.Dispose();
    }
}

/// <summary>Polling with a deadline, for counters and flags.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }
}

/// <summary>
/// A scripted Delta ADS server on a Unix socket, for what the real control plane never does (malformed resources)
/// and to see exactly what the client sends (node, initial versions). The script maps (stream index, request) to
/// responses, and may end the stream.
/// </summary>
public sealed class ScriptedAdsServer : IAsyncDisposable
{
    public sealed record Reply(IReadOnlyList<DeltaDiscoveryResponse> Responses, bool EndStream = false);

    private readonly WebApplication _app;
    private readonly State _state;

    private ScriptedAdsServer(WebApplication app, State state, string socketPath)
    {
        _app = app;
        _state = state;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    /// <summary>Every request received, with the index of its stream (0 = first).</summary>
    public ChannelReader<(int Stream, DeltaDiscoveryRequest Request)> Requests => _state.Requests.Reader;

    public static async Task<ScriptedAdsServer> StartAsync(string socketPath, Func<int, DeltaDiscoveryRequest, Reply> script)
    {
        var state = new State(script);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socketPath, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(state);
        var app = builder.Build();
        app.MapGrpcService<Service>();
        await app.StartAsync();
        return new ScriptedAdsServer(app, state, socketPath);
    }

    /// <summary>The next request the client sent; fails if none arrives in time.</summary>
    public async Task<(int Stream, DeltaDiscoveryRequest Request)> NextRequestAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            return await _state.Requests.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("the client sent no further request");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public sealed class State(Func<int, DeltaDiscoveryRequest, Reply> script)
    {
        private int _streams = -1;
        public Channel<(int, DeltaDiscoveryRequest)> Requests { get; } = Channel.CreateUnbounded<(int, DeltaDiscoveryRequest)>();
        public Func<int, DeltaDiscoveryRequest, Reply> Script => script;
        public int NextStream() => Interlocked.Increment(ref _streams);
    }

    private sealed class Service(State state) : Ads.AggregatedDiscoveryServiceBase
    {
        public override async Task DeltaAggregatedResources(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream,
            IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context)
        {
            var stream = state.NextStream();
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                state.Requests.Writer.TryWrite((stream, request));
                var reply = state.Script(stream, request);
                foreach (var r in reply.Responses)
                    await responseStream.WriteAsync(r);
                if (reply.EndStream)
                    return;
            }
        }
    }
}
