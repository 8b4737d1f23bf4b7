using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Model;
using k8s;
using Microsoft.Extensions.Logging;

namespace Ambient.ControlPlane.Sources.Kubernetes;

/// <summary>
/// Mirrors one kind into the <see cref="ConfigStore"/>: LIST (replacing the kind's origin), then WATCH from the
/// listed resourceVersion applying each event, reconnecting with backoff when the stream breaks and relisting
/// when the server says the version is gone (410) or the periodic resync is due. An object that fails
/// validation is reported once per version and skipped; the last good version of it stays in force.
/// </summary>
internal sealed class ResourceReflector(
    KubernetesResource resource,
    KubernetesApiClient api,
    ConfigStore store,
    ControlPlaneMetrics metrics,
    KubernetesSourceOptions options,
    ILogger logger,
    Action onFirstList)
{
    /// <summary>How long past its requested timeout a silent watch is trusted before it is abandoned.</summary>
    private static readonly TimeSpan SilentWatchGrace = TimeSpan.FromSeconds(30);

    private readonly record struct Held(string ResourceVersion, KubeObject Object);

    private readonly record struct Rejection(string ResourceVersion, string Error);

    private enum WatchEnd { Cancelled, Deadline, Closed, Gone, Failed }

    private readonly Backoff _backoff = new(options.InitialBackoff, options.MaxBackoff);
    private readonly string _kindLabel = ControlPlaneMetrics.Label("kind", resource.Kind);
    private readonly ConcurrentDictionary<ObjectKey, Rejection> _rejected = new();
    private Dictionary<ObjectKey, Held> _objects = [];
    private bool _listed;
    private bool _notServed;
    private volatile string _resourceVersion = "";

    public KubernetesResource Resource => resource;

    /// <summary>The version the next watch starts from.</summary>
    public string ResourceVersion => _resourceVersion;

    /// <summary>Objects whose current version is rejected, with why.</summary>
    public IEnumerable<KeyValuePair<ObjectKey, string>> Rejected => _rejected.Select(r => KeyValuePair.Create(r.Key, r.Value.Error));

    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (await ListAsync(ct))
                    await WatchUntilRelistAsync(ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                // A bug must cost this kind a relist, never the whole control plane.
                var delay = _backoff.Next();
                KubernetesSourceLog.Unexpected(logger, e, resource, delay.TotalMilliseconds);
                await DelayAsync(delay, ct);
            }
        }
    }

    private async Task<bool> ListAsync(CancellationToken ct)
    {
        ResourceList list;
        try
        {
            list = await api.ListAsync(resource, options.PageSize, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return false;
        }
        catch (KubernetesApiException e) when (e.IsNotFound && resource.IsCustomResource)
        {
            // Istio's CRDs may not be installed: that is "no policies", not a reason to never become ready.
            var poll = options.MaxBackoff;
            if (!_notServed)
                KubernetesSourceLog.NotServed(logger, resource, poll.TotalMilliseconds);
            _notServed = true;
            ApplyList(new ResourceList("", []));
            await DelayAsync(poll, ct);
            return false;
        }
        catch (Exception e)
        {
            var delay = _backoff.Next();
            metrics.Increment("ambient_kubernetes_list_failures_total", _kindLabel);
            KubernetesSourceLog.ListFailed(logger, resource, delay.TotalMilliseconds, e.Message);
            await DelayAsync(delay, ct);
            return false;
        }
        _notServed = false;
        _backoff.Reset();
        metrics.Increment("ambient_kubernetes_lists_total", _kindLabel);
        ApplyList(list);
        KubernetesSourceLog.Listed(logger, resource, list.Items.Count, list.ResourceVersion);
        return true;
    }

    /// <summary>Watches, reconnecting as needed, until a relist is required (410 or resync) or <paramref name="ct"/> fires.</summary>
    private async Task WatchUntilRelistAsync(CancellationToken ct)
    {
        // Spread resyncs of different kinds (and replicas) a little, so they do not all relist at once.
        var resyncAt = Stopwatch.GetTimestamp() + (long)(options.Resync.TotalSeconds * (1 + 0.1 * Random.Shared.NextDouble()) * Stopwatch.Frequency);
        while (!ct.IsCancellationRequested)
        {
            var untilResync = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), resyncAt);
            if (untilResync <= TimeSpan.Zero)
            {
                metrics.Increment("ambient_kubernetes_relists_total", $"{_kindLabel},{ControlPlaneMetrics.Label("reason", "resync")}");
                KubernetesSourceLog.Resync(logger, resource);
                return;
            }
            var (end, progressed, error) = await WatchOnceAsync(untilResync, ct);
            switch (end)
            {
                case WatchEnd.Cancelled:
                    return;
                case WatchEnd.Deadline:
                    continue; // resync due, or a connection gone silent: start over at once
                case WatchEnd.Gone:
                    metrics.Increment("ambient_kubernetes_relists_total", $"{_kindLabel},{ControlPlaneMetrics.Label("reason", "gone")}");
                    KubernetesSourceLog.Gone(logger, resource, _resourceVersion);
                    if (!progressed)
                        await DelayAsync(_backoff.Next(), ct); // never relist in a tight loop
                    return;
                case WatchEnd.Closed:
                {
                    var delay = _backoff.Next();
                    KubernetesSourceLog.WatchClosed(logger, resource, delay.TotalMilliseconds, _resourceVersion);
                    await DelayAsync(delay, ct);
                    continue;
                }
                default:
                {
                    var delay = _backoff.Next();
                    metrics.Increment("ambient_kubernetes_watch_failures_total", _kindLabel);
                    KubernetesSourceLog.WatchFailed(logger, resource, delay.TotalMilliseconds, _resourceVersion, error?.Message ?? "unknown error");
                    await DelayAsync(delay, ct);
                    continue;
                }
            }
        }
    }

    private async Task<(WatchEnd End, bool Progressed, Exception? Error)> WatchOnceAsync(TimeSpan untilResync, CancellationToken ct)
    {
        // Randomised like client-go, so the kinds' watches do not all expire together.
        var timeoutSeconds = (int)Math.Ceiling(options.WatchTimeout.TotalSeconds * (1 + Random.Shared.NextDouble()));
        var silentLimit = TimeSpan.FromSeconds(timeoutSeconds) + SilentWatchGrace;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(silentLimit < untilResync ? silentLimit : untilResync);
        var started = Stopwatch.GetTimestamp();
        var progressed = false;
        try
        {
            await foreach (var ev in api.WatchAsync(resource, _resourceVersion, timeoutSeconds, deadline.Token))
            {
                if (ev.Type == WatchEventType.Error)
                {
                    var error = KubernetesApiException.FromStatus(ev.Object, 500, $"watch {resource.Path}");
                    return (error.IsGone ? WatchEnd.Gone : WatchEnd.Failed, progressed, error);
                }
                if (!progressed)
                {
                    progressed = true;
                    _backoff.Reset(); // the connection works: the next failure starts the backoff over
                }
                switch (ev.Type)
                {
                    case WatchEventType.Added:
                    case WatchEventType.Modified:
                        ApplyUpsert(ev.Object);
                        break;
                    case WatchEventType.Deleted:
                        ApplyDelete(ev.Object);
                        break;
                }
                if (KubernetesJsonNodes.ResourceVersion(ev.Object) is { Length: > 0 } rv)
                    _resourceVersion = rv;
            }
            // A watch the server kept open for long was healthy even if nothing happened.
            if (Stopwatch.GetElapsedTime(started) >= options.MaxBackoff)
                _backoff.Reset();
            return (WatchEnd.Closed, progressed, null);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return (WatchEnd.Cancelled, progressed, null);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return (WatchEnd.Deadline, progressed, null);
        }
        catch (KubernetesApiException e) when (e.IsGone)
        {
            return (WatchEnd.Gone, progressed, e);
        }
        catch (Exception e)
        {
            return (WatchEnd.Failed, progressed, e);
        }
    }

    /// <summary>Replaces the kind's origin with a fresh LIST, keeping unchanged objects' instances and rejected objects' last good versions.</summary>
    private void ApplyList(ResourceList list)
    {
        var next = new Dictionary<ObjectKey, Held>(list.Items.Count);
        var present = new HashSet<ObjectKey>(list.Items.Count);
        foreach (var item in list.Items)
        {
            var key = KubernetesObjectConverter.KeyOf(resource, item);
            present.Add(key);
            var rv = KubernetesJsonNodes.ResourceVersion(item) ?? "";
            var hasOld = _objects.TryGetValue(key, out var old);
            if (hasOld && rv.Length > 0 && old.ResourceVersion == rv)
                next[key] = old; // unchanged since it was converted: no work, and the snapshot builder's caches still hit
            else if (Convert(item, key, rv) is { } converted)
                next[key] = new Held(rv, converted);
            else if (hasOld)
                next[key] = old;
        }
        foreach (var gone in _rejected.Keys.Where(k => !present.Contains(k)).ToList())
            _rejected.TryRemove(gone, out _);

        var changed = next.Count != _objects.Count
            || next.Any(kv => !_objects.TryGetValue(kv.Key, out var h) || !ReferenceEquals(h.Object, kv.Value.Object));
        _objects = next;
        _resourceVersion = list.ResourceVersion;
        if (changed || !_listed)
            store.ReplaceOrigin(resource.Origin, next.Values.Select(h => h.Object));
        if (!_listed)
        {
            _listed = true;
            onFirstList();
        }
    }

    private void ApplyUpsert(JsonObject obj)
    {
        var key = KubernetesObjectConverter.KeyOf(resource, obj);
        var rv = KubernetesJsonNodes.ResourceVersion(obj) ?? "";
        if (Convert(obj, key, rv) is not { } converted)
            return;
        _objects[key] = new Held(rv, converted);
        store.Upsert(resource.Origin, converted);
    }

    private void ApplyDelete(JsonObject obj)
    {
        var key = KubernetesObjectConverter.KeyOf(resource, obj);
        _rejected.TryRemove(key, out _);
        if (_objects.Remove(key))
            store.Delete(resource.Origin, key);
    }

    /// <summary>Converts, or reports the rejection (once per object version) and returns null.</summary>
    private KubeObject? Convert(JsonObject obj, ObjectKey key, string rv)
    {
        if (rv.Length > 0 && _rejected.TryGetValue(key, out var known) && known.ResourceVersion == rv)
            return null;
        var result = KubernetesObjectConverter.Convert(resource, obj);
        if (result.Object is { } converted)
        {
            _rejected.TryRemove(key, out _);
            return converted;
        }
        var error = result.Error ?? "rejected";
        _rejected[key] = new Rejection(rv, error);
        metrics.Increment("ambient_config_errors_total", ControlPlaneMetrics.Label("source", KubernetesSource.SourceName));
        KubernetesSourceLog.Rejected(logger, resource.Kind, Display(key), error);
        return null;
    }

    private static string Display(ObjectKey key) =>
        key.Name.Length == 0 ? "(unnamed)" : key.Namespace.Length == 0 ? key.Name : $"{key.Namespace}/{key.Name}";

    private static async Task DelayAsync(TimeSpan delay, CancellationToken ct) =>
        await Task.Delay(delay, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
}
