using System.Threading.Channels;
using Ambient.ControlPlane.Hosting;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Ambient.ControlPlane.Discovery;

/// <summary>
/// What SotW and Delta streams share: one loop per stream that alternates between handling client requests
/// and pushing snapshot changes, so all writes come from one place. Requests arrive through a small bounded
/// channel (a flood of requests backs up into the client's HTTP/2 window, not our heap); snapshot changes
/// only set a flag. Memory per stream is therefore bounded whatever the client does.
/// </summary>
internal abstract class XdsStream<TRequest>(SnapshotCache cache, ControlPlaneMetrics metrics, ILogger logger, string flavour) where TRequest : class
{
    private static long s_nextId;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Channel<TRequest> _requests = Channel.CreateBounded<TRequest>(new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });
    private int _snapshotDirty;
    private long _nonce;

    protected long StreamId { get; } = Interlocked.Increment(ref s_nextId);
    protected SnapshotCache Cache => cache;
    protected ControlPlaneMetrics Metrics => metrics;
    protected ILogger Logger => logger;
    protected string NodeId { get; set; } = "";
    protected string Flavour => flavour;

    /// <summary>The snapshot the stream's state was last brought up to date with.</summary>
    protected XdsSnapshot Applied { get; set; } = XdsSnapshot.Empty;

    protected string NextNonce() => (++_nonce).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Waits, if the response is large, for a large-write slot (see <see cref="LargeWriteGate"/>); dispose the result after the write.</summary>
    protected static ValueTask<IDisposable?> EnterLargeWriteAsync(int resources, CancellationToken ct) => LargeWriteGate.EnterAsync(resources, ct);

    /// <param name="stopping">
    /// The host's shutdown signal: open streams end (status OK) as soon as the control plane starts stopping, so clients
    /// reconnect at once instead of holding the shutdown for its whole timeout.
    /// </param>
    public async Task RunAsync(IAsyncStreamReader<TRequest> requests, ServerCallContext context, CancellationToken stopping = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, stopping);
        var ct = linked.Token;
        var reason = "client closed the stream";
        metrics.Increment("ambient_xds_streams_total", ControlPlaneMetrics.Label("flavour", flavour));
        using var subscription = cache.Subscribe(() =>
        {
            Volatile.Write(ref _snapshotDirty, 1);
            _wake.Writer.TryWrite(true);
        });
        // Clients never see a half-loaded mesh: streams start once the first full load is published.
        await cache.FirstSnapshot.WaitAsync(ct);
        var readerTask = PumpRequestsAsync(requests, ct);
        metrics.Set("ambient_xds_connected_clients", cache.SubscriberCount);
        try
        {
            while (true)
            {
                while (_requests.Reader.TryRead(out var request))
                {
                    if (NodeId.Length == 0)
                    {
                        NodeId = NodeIdOf(request);
                        XdsStreamLog.Opened(logger, flavour, StreamId, context.Peer, NodeId);
                    }
                    await HandleRequestAsync(request, ct);
                }
                if (Interlocked.Exchange(ref _snapshotDirty, 0) == 1 && !ReferenceEquals(cache.Current, Applied))
                    await HandleSnapshotAsync(cache.Current, ct);
                if (_requests.Reader.Completion.IsCompleted)
                    break;
                if (!await _wake.Reader.WaitToReadAsync(ct))
                    break;
                _wake.Reader.TryRead(out _);
            }
            await readerTask;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            reason = stopping.IsCancellationRequested ? "control plane stopping" : "cancelled";
        }
        catch (Exception e)
        {
            reason = e.Message;
            throw;
        }
        finally
        {
            XdsStreamLog.Closed(logger, flavour, StreamId, reason);
            metrics.Set("ambient_xds_connected_clients", cache.SubscriberCount - 1);
        }
    }

    private async Task PumpRequestsAsync(IAsyncStreamReader<TRequest> requests, CancellationToken ct)
    {
        try
        {
            while (await requests.MoveNext(ct))
            {
                await _requests.Writer.WriteAsync(requests.Current, ct);
                _wake.Writer.TryWrite(true);
            }
            _requests.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _requests.Writer.TryComplete(e);
        }
        finally
        {
            _wake.Writer.TryWrite(true);
        }
    }

    protected abstract string NodeIdOf(TRequest request);

    protected abstract Task HandleRequestAsync(TRequest request, CancellationToken ct);

    protected abstract Task HandleSnapshotAsync(XdsSnapshot snapshot, CancellationToken ct);

    protected void CountNack(string typeUrl) =>
        metrics.Increment("ambient_xds_nacks_total", $"{ControlPlaneMetrics.Label("flavour", flavour)},{ControlPlaneMetrics.Label("type_url", typeUrl)}");

    protected void CountPush(string typeUrl) =>
        metrics.Increment("ambient_xds_pushes_total", $"{ControlPlaneMetrics.Label("flavour", flavour)},{ControlPlaneMetrics.Label("type_url", typeUrl)}");
}

/// <summary>
/// Memory: a response is serialized whole into Kestrel's pooled, pinned write buffers and stays there until the
/// client has read it, and the pool keeps what it once held. When 100 node agents (re)connect to a 10k-pod mesh at
/// once, each initial Address response is ~3 MiB: ~320 MiB pinned at the same time, and retained. So a large
/// response (a client's initial state, a SotW push of a big type) first takes one of <see cref="Slots"/> slots
/// shared by every stream of the process, and gives it back when written — or after <see cref="HoldLimit"/>, so that
/// a client that stops reading delays the others by that much at most. Small responses, the changes of a push,
/// never wait.
/// </summary>
internal static class LargeWriteGate
{
    /// <summary>Responses with at least this many resources are large.</summary>
    public const int Resources = 1000;

    public static readonly int Slots = Math.Max(4, Environment.ProcessorCount);

    public static readonly TimeSpan HoldLimit = TimeSpan.FromSeconds(5);

    private static readonly SemaphoreSlim s_slots = new(Slots, Slots);

    /// <summary>Null (nothing to release) for a small response; otherwise the slot, to dispose once written.</summary>
    public static async ValueTask<IDisposable?> EnterAsync(int resources, CancellationToken ct)
    {
        if (resources < Resources)
            return null;
        await s_slots.WaitAsync(ct);
        return new Slot();
    }

    private sealed class Slot : IDisposable
    {
        private readonly ITimer _timer;
        private int _released;

        public Slot() => _timer = TimeProvider.System.CreateTimer(static s => ((Slot)s!).Release(), this, HoldLimit, Timeout.InfiniteTimeSpan);

        public void Dispose()
        {
            _timer.Dispose();
            Release();
        }

        private void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                s_slots.Release();
        }
    }
}
