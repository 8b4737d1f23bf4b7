using System.Threading.Channels;
using Ambient.ControlPlane.Model;

namespace Ambient.ControlPlane.Sources;

/// <summary>
/// The merged object store all sources write into. Each source owns "origins" (a file, a watched kind) and
/// replaces or patches them; a bad input never reaches the store, so the last good content stays.
/// Readers take an immutable <see cref="ClusterState"/>; writers wake the publisher through <see cref="Changed"/>.
/// </summary>
public sealed class ConfigStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Dictionary<ObjectKey, KubeObject>> _origins = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pendingSources = new(StringComparer.Ordinal);
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private long _generation;

    /// <summary>
    /// Perf: the merged view <see cref="Snapshot"/> last built, kept up to date by updates of existing objects (the
    /// common change: a pod's status) and dropped by anything else, so a one-pod change does not re-merge every origin.
    /// Null when it must be rebuilt.
    /// </summary>
    private Dictionary<ObjectKey, KubeObject>? _merged;

    /// <summary>Signalled (coalesced) after every change.</summary>
    public ChannelReader<bool> Changed => _changed.Reader;

    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>A source that must finish its first full load before the control plane is ready.</summary>
    public void RegisterSource(string name)
    {
        lock (_lock)
            _pendingSources.Add(name);
    }

    public void MarkSynced(string name)
    {
        lock (_lock)
            _pendingSources.Remove(name);
        Signal();
    }

    public bool AllSourcesSynced
    {
        get
        {
            lock (_lock)
                return _pendingSources.Count == 0;
        }
    }

    /// <summary>Replaces everything an origin defines (a file re-read, a relist).</summary>
    public void ReplaceOrigin(string origin, IEnumerable<KubeObject> objects)
    {
        var map = new Dictionary<ObjectKey, KubeObject>();
        foreach (var o in objects)
            map[o.Key] = o;
        lock (_lock)
        {
            _origins[origin] = map;
            _merged = null;
        }
        Signal();
    }

    public void RemoveOrigin(string origin)
    {
        bool removed;
        lock (_lock)
        {
            removed = _origins.Remove(origin);
            if (removed)
                _merged = null;
        }
        if (removed)
            Signal();
    }

    public void Upsert(string origin, KubeObject obj)
    {
        lock (_lock)
        {
            if (!_origins.TryGetValue(origin, out var map))
                _origins[origin] = map = [];
            var key = obj.Key;
            var update = map.ContainsKey(key);
            map[key] = obj;
            // An update keeps every origin's order, so the merged order is unchanged: patch the merged view if this
            // origin is the one that wins the key (the last, by name, to define it). Anything else rebuilds it.
            if (_merged is not null && update)
            {
                if (IsWinner(origin, key))
                    _merged[key] = obj;
            }
            else
            {
                _merged = null;
            }
        }
        Signal();
    }

    public void Delete(string origin, ObjectKey key)
    {
        bool removed;
        lock (_lock)
        {
            removed = _origins.TryGetValue(origin, out var map) && map.Remove(key);
            if (removed)
                _merged = null;
        }
        if (removed)
            Signal();
    }

    /// <summary>The merged view. When two origins define the same object, the one whose name sorts last wins.</summary>
    public ClusterState Snapshot()
    {
        lock (_lock)
        {
            if (_merged is null)
            {
                var merged = new Dictionary<ObjectKey, KubeObject>();
                foreach (var origin in _origins.Keys.Order(StringComparer.Ordinal))
                {
                    foreach (var (k, v) in _origins[origin])
                        merged[k] = v;
                }
                _merged = merged;
            }
            return new ClusterState(_merged.Values);
        }
    }

    /// <summary>Whether no origin after <paramref name="origin"/> (by name) defines <paramref name="key"/>. Call under the lock.</summary>
    private bool IsWinner(string origin, ObjectKey key)
    {
        foreach (var (other, map) in _origins)
        {
            if (StringComparer.Ordinal.Compare(other, origin) > 0 && map.ContainsKey(key))
                return false;
        }
        return true;
    }

    /// <summary>Every origin that defines the given object, for duplicate reporting.</summary>
    public IReadOnlyList<string> OriginsOf(ObjectKey key)
    {
        lock (_lock)
            return [.. _origins.Where(o => o.Value.ContainsKey(key)).Select(o => o.Key).Order(StringComparer.Ordinal)];
    }

    private void Signal()
    {
        Interlocked.Increment(ref _generation);
        _changed.Writer.TryWrite(true);
    }
}
