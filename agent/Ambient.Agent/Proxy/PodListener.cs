using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Ambient.Agent.InPod;
using Ambient.Net.Netns;
using Ambient.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Proxy;

/// <summary>
/// A listening socket inside a pod's netns (created on the <see cref="NetNsExecutor"/> thread, marked with
/// SO_MARK 1337 so the in-pod rules never redirect it, SO_REUSEPORT for upgrade handoff) and its accept loop.
/// The loop never dies on a bad connection: per-connection failures stay in the handler; accept errors such as
/// EMFILE are logged and retried after a pause.
/// </summary>
public sealed partial class PodListener : IAsyncDisposable
{
    private static readonly TimeSpan AcceptErrorPause = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop;
    private readonly ConcurrentDictionary<long, Task> _connections = new();
    private readonly ILogger _logger;
    private Task _acceptLoop = Task.CompletedTask;
    private long _nextId;

    private PodListener(Socket socket, string role, CancellationToken podToken, ILogger logger)
    {
        _socket = socket;
        Role = role;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(podToken);
        _logger = logger;
    }

    public string Role { get; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public int ActiveConnections => _connections.Count;

    public static async Task<PodListener> StartAsync(NetNsExecutor executor, CapturedPod pod, string role, int port, uint mark, IConnectionHandler handler, ILogger logger, CancellationToken podToken)
    {
        var socket = await executor.RunAsync(pod.Netns, () =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                MeshSockets.SetMark(s, mark);
                s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                MeshSockets.SetReusePort(s);
                s.Bind(new IPEndPoint(IPAddress.Any, port));
                s.Listen(512);
                return s;
            }
            catch
            {
                s.Dispose();
                throw;
            }
        }).ConfigureAwait(false);
        var listener = new PodListener(socket, role, podToken, logger);
        listener._acceptLoop = Task.Run(() => listener.AcceptLoopAsync(handler, pod));
        return listener;
    }

    private async Task AcceptLoopAsync(IConnectionHandler handler, CapturedPod pod)
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || ct.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                AcceptFailed(_logger, Role, pod.Ref.Key, e.SocketErrorCode, e);
                try
                {
                    await Task.Delay(AcceptErrorPause, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            // Every listener relays request/response traffic: Nagle would hold a small write back until the previous one
            // is acknowledged (with delayed ACKs, milliseconds per round trip through the tunnel).
            accepted.NoDelay = true;
            long id = Interlocked.Increment(ref _nextId);
            var task = RunConnectionAsync(handler, accepted, pod, ct);
            _connections[id] = task;
            _ = task.ContinueWith(static (_, state) =>
            {
                var (self, key) = ((PodListener, long))state!;
                self._connections.TryRemove(key, out Task? _);
            }, (this, id), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task RunConnectionAsync(IConnectionHandler handler, Socket accepted, CapturedPod pod, CancellationToken ct)
    {
        await Task.Yield(); // get off the accept loop before any handler work
        try
        {
            await handler.HandleAsync(accepted, pod, ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Handlers report their own failures; reaching here is our bug. Never let it escape.
            HandlerCrashed(_logger, Role, pod.Ref.Key, e);
            SocketCopier.Abort(accepted);
        }
    }

    /// <summary>Stops accepting, cancels open connections and waits (bounded) until they are closed.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _socket.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        var open = _connections.Values.ToArray();
        if (open.Length > 0)
        {
            await Task.WhenAny(Task.WhenAll(open), Task.Delay(DrainTimeout)).ConfigureAwait(false);
        }
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "{Role} listener of pod {Pod}: accept failed ({Error}); retrying")]
    private static partial void AcceptFailed(ILogger logger, string role, string pod, SocketError error, Exception e);

    [LoggerMessage(EventId = 101, Level = LogLevel.Error, Message = "{Role} handler for pod {Pod} threw; connection reset")]
    private static partial void HandlerCrashed(ILogger logger, string role, string pod, Exception e);
}
