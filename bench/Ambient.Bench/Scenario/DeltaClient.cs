using System.Diagnostics;
using Ambient.Xds;
using Ambient.Xds.Protos.Core;
using Ambient.Xds.Protos.Discovery;
using Grpc.Core;
using Grpc.Net.Client;
using Ads = Ambient.Xds.Protos.Discovery.AggregatedDiscoveryService;

namespace Ambient.Bench.Scenario;

/// <summary>
/// What the clients watch for during one measured change: the first response carrying resource
/// <see cref="Name"/> at a version other than <see cref="OldVersion"/>. Each client records when it saw it.
/// </summary>
public sealed class ChangeProbe(string name, string oldVersion, int clients)
{
    private int _remaining = clients;

    public string Name { get; } = name;
    public string OldVersion { get; } = oldVersion;

    /// <summary>Stopwatch timestamp per client at which the change arrived; 0 until then.</summary>
    public long[] Arrivals { get; } = new long[clients];

    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Arrived(int client, long timestamp)
    {
        if (Interlocked.CompareExchange(ref Arrivals[client], timestamp, 0) != 0)
            return;
        if (Interlocked.Decrement(ref _remaining) == 0)
            Done.TrySetResult();
    }
}

/// <summary>The probe currently being watched, shared by every client.</summary>
public sealed class ProbeBoard
{
    private volatile ChangeProbe? _current;

    public ChangeProbe? Current
    {
        get => _current;
        set => _current = value;
    }
}

/// <summary>
/// A minimal node agent: one gRPC channel (its own HTTP/2 connection), one DeltaAggregatedResources stream,
/// wildcard subscriptions to Address and Authorization, and an ACK for every response, as ztunnel does.
/// It keeps only counters, so its own memory stays small.
/// </summary>
public sealed class DeltaClient : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse> _call;
    private readonly CancellationTokenSource _cts = new();
    private readonly ProbeBoard _board;
    private readonly TaskCompletionSource _initial = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _gotAddresses;
    private bool _gotAuthorizations;
    private Task _reader = Task.CompletedTask;

    private DeltaClient(int id, Uri address, ProbeBoard board)
    {
        Id = id;
        _board = board;
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = null });
        _call = new Ads.AggregatedDiscoveryServiceClient(_channel).DeltaAggregatedResources(cancellationToken: _cts.Token);
    }

    public int Id { get; }

    /// <summary>Resources received in the first Address / Authorization responses.</summary>
    public int InitialAddresses { get; private set; }

    public int InitialAuthorizations { get; private set; }

    /// <summary>Completes once both initial responses have arrived.</summary>
    public Task Initial => _initial.Task;

    public static async Task<DeltaClient> ConnectAsync(int id, Uri address, ProbeBoard board)
    {
        var c = new DeltaClient(id, address, board);
        var node = new Node { Id = $"bench-node-{id:D3}", Cluster = "Kubernetes" };
        await c._call.RequestStream.WriteAsync(new DeltaDiscoveryRequest { Node = node, TypeUrl = TypeUrls.Address, ResourceNamesSubscribe = { "*" } });
        await c._call.RequestStream.WriteAsync(new DeltaDiscoveryRequest { Node = node, TypeUrl = TypeUrls.Authorization, ResourceNamesSubscribe = { "*" } });
        c._reader = c.ReadAsync();
        return c;
    }

    private async Task ReadAsync()
    {
        var ct = _cts.Token;
        try
        {
            while (await _call.ResponseStream.MoveNext(ct))
            {
                var now = Stopwatch.GetTimestamp();
                var r = _call.ResponseStream.Current;
                if (r.TypeUrl == TypeUrls.Address)
                {
                    if (_board.Current is { } probe && probe.Arrivals[Id] == 0)
                    {
                        foreach (var res in r.Resources)
                        {
                            if (res.Name == probe.Name && res.Version != probe.OldVersion)
                            {
                                probe.Arrived(Id, now);
                                break;
                            }
                        }
                    }
                    if (!_gotAddresses)
                    {
                        _gotAddresses = true;
                        InitialAddresses = r.Resources.Count;
                    }
                }
                else if (r.TypeUrl == TypeUrls.Authorization && !_gotAuthorizations)
                {
                    _gotAuthorizations = true;
                    InitialAuthorizations = r.Resources.Count;
                }
                if (_gotAddresses && _gotAuthorizations)
                    _initial.TrySetResult();
                await _call.RequestStream.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = r.TypeUrl, ResponseNonce = r.Nonce }, ct);
            }
            _initial.TrySetException(new InvalidOperationException($"client {Id}: the server closed the stream"));
        }
        catch (Exception e) when (ct.IsCancellationRequested && e is OperationCanceledException or RpcException)
        {
            _initial.TrySetCanceled(ct);
        }
        catch (Exception e)
        {
            _initial.TrySetException(e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        try
        {
            await _reader;
        }
        catch (Exception)
        {
            // the stream is going away either way
        }
        _call.Dispose();
        _channel.Dispose();
        _cts.Dispose();
    }
}
