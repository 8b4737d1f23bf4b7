using System.Net;
using Ambient.Agent.Proxy;
using Ambient.Net.Netns;

namespace Ambient.Agent.InPod;

/// <summary>
/// Runtime side of a captured pod: its open netns (kept open so sockets can still be created there even if
/// the runtime unmounts the path) and its listeners. Owned by <see cref="PodCaptureManager"/>.
/// </summary>
public sealed class CapturedPod : IAsyncDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly List<PodListener> _listeners = [];

    public CapturedPod(PodRef pod, NetNs netns, IReadOnlyList<IPAddress> ips)
    {
        Ref = pod;
        Netns = netns;
        Ips = ips;
    }

    public PodRef Ref { get; }

    public NetNs Netns { get; }

    public IReadOnlyList<IPAddress> Ips { get; }

    /// <summary>Cancelled when the pod is uncaptured: ends its accept loops and open connections.</summary>
    public CancellationToken Stopping => _cts.Token;

    public IReadOnlyList<PodListener> Listeners => _listeners;

    public int ActiveConnections => _listeners.Sum(l => l.ActiveConnections);

    internal void Add(PodListener listener) => _listeners.Add(listener);

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        foreach (var l in _listeners)
        {
            await l.DisposeAsync().ConfigureAwait(false);
        }
        _listeners.Clear();
        Netns.Dispose();
        _cts.Dispose();
    }
}
