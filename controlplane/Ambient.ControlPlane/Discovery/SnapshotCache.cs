namespace Ambient.ControlPlane.Discovery;

/// <summary>
/// Holds the current snapshot and tells every open stream when it changes. A stream keeps only a flag and
/// reads the latest snapshot when it is ready to write, so a slow client costs one snapshot reference,
/// never a queue of pushes.
/// </summary>
public sealed class SnapshotCache
{
    private readonly Lock _lock = new();
    private readonly List<Action> _subscribers = [];
    private volatile XdsSnapshot _current = XdsSnapshot.Empty;
    private readonly TaskCompletionSource _firstSnapshot = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public XdsSnapshot Current => _current;

    /// <summary>Completes when the first snapshot built from a full config load is published.</summary>
    public Task FirstSnapshot => _firstSnapshot.Task;

    public bool HasSnapshot => _firstSnapshot.Task.IsCompleted;

    public void Publish(XdsSnapshot snapshot)
    {
        _current = snapshot;
        _firstSnapshot.TrySetResult();
        Action[] subs;
        lock (_lock)
            subs = [.. _subscribers];
        foreach (var s in subs)
            s();
    }

    /// <summary>Registers a change callback; dispose the result to unregister.</summary>
    public IDisposable Subscribe(Action onChange)
    {
        lock (_lock)
            _subscribers.Add(onChange);
        return new Subscription(this, onChange);
    }

    public int SubscriberCount
    {
        get
        {
            lock (_lock)
                return _subscribers.Count;
        }
    }

    private sealed class Subscription(SnapshotCache cache, Action action) : IDisposable
    {
        public void Dispose()
        {
            lock (cache._lock)
                cache._subscribers.Remove(action);
        }
    }
}
