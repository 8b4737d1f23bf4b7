using System.Collections.Immutable;
using Ambient.Xds.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoEnrollment = Ambient.Xds.Protos.Enrollment.PodEnrollment;

namespace Ambient.Agent.State;

/// <summary>A pod appeared (<see cref="Previous"/> null), changed, or went away (<see cref="Current"/> null).</summary>
public sealed record PodEnrollmentEvent(PodEnrollmentInfo? Previous, PodEnrollmentInfo? Current)
{
    public string Key => (Current ?? Previous)!.Key;

    /// <summary>A known pod's enrolment flipped (the agent must capture or uncapture it live).</summary>
    public bool EnrollmentFlipped => Previous is not null && Current is not null && Previous.Enrolled != Current.Enrolled;
}

/// <summary>
/// <c>ns/name</c> → what the control plane says about the pod's capture (Ambient's PodEnrollment type), fed by
/// <see cref="DeltaAdsClient"/>. The CNI ADD can race the control plane, so <see cref="WaitForPodAsync"/> waits
/// (bounded) for a pod to appear. <see cref="Changed"/> reports every change, so the agent can capture and uncapture
/// live when a namespace or pod label changes.
/// </summary>
public sealed partial class PodEnrollmentView
{
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<TaskCompletionSource>> _waiters = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ImmutableDictionary<string, PodEnrollmentInfo> _pods = ImmutableDictionary.Create<string, PodEnrollmentInfo>(StringComparer.Ordinal);

    /// <param name="requireNode">
    /// When set, a pod the control plane places on another node is treated as not (yet) known by
    /// <see cref="WaitForPodAsync"/>: a StatefulSet pod recreated here under the same name must not be answered with
    /// its previous incarnation. Leave null when node names are not reliable (local file mode).
    /// </param>
    public PodEnrollmentView(string? requireNode = null, ILogger<PodEnrollmentView>? logger = null)
    {
        RequireNode = requireNode;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    public string? RequireNode { get; }

    /// <summary>Every known pod by <c>ns/name</c>.</summary>
    public ImmutableDictionary<string, PodEnrollmentInfo> Pods => Volatile.Read(ref _pods);

    /// <summary>Completes once the first PodEnrollment response has been applied (the view is complete).</summary>
    public Task Synced => _synced.Task;

    /// <summary>Raised after each applied update for every pod that appeared, changed or went away, outside the lock.</summary>
    public event Action<PodEnrollmentEvent>? Changed;

    public PodEnrollmentInfo? Get(string ns, string name) => Pods.TryGetValue($"{ns}/{name}", out var p) ? p : null;

    /// <summary>The pods the control plane places on <paramref name="node"/>.</summary>
    public IEnumerable<PodEnrollmentInfo> OnNode(string node) => Pods.Values.Where(p => p.Node == node);

    /// <summary>The handler for <c>ambient.workload.PodEnrollment</c> responses. Invalid input throws (NACK) and changes nothing.</summary>
    public void Apply(DeltaUpdate<ProtoEnrollment> update)
    {
        var items = update.Updated.Select(r => WdsConversion.ToEnrollment(r.Name, r.Resource)).ToList();
        var events = new List<PodEnrollmentEvent>();
        List<TaskCompletionSource>? wake = null;
        lock (_lock)
        {
            var b = _pods.ToBuilder();
            foreach (var name in update.Removed)
            {
                if (b.TryGetValue(name, out var old))
                {
                    b.Remove(name);
                    events.Add(new PodEnrollmentEvent(old, null));
                }
            }
            foreach (var info in items)
            {
                var old = b.TryGetValue(info.Key, out var o) ? o : null;
                b[info.Key] = info;
                if (old is null || !Same(old, info))
                    events.Add(new PodEnrollmentEvent(old, info));
                if (_waiters.Remove(info.Key, out var w))
                    (wake ??= []).AddRange(w);
            }
            Volatile.Write(ref _pods, b.ToImmutable());
        }
        foreach (var w in wake ?? [])
            w.TrySetResult();
        if (_synced.TrySetResult())
            Log.Synced(_logger, _pods.Count);
        foreach (var e in events)
        {
            if (e.EnrollmentFlipped)
                Log.Flipped(_logger, e.Key, e.Current!.Enrolled ? "enrolled" : "not enrolled");
            Changed?.Invoke(e);
        }
    }

    /// <summary>
    /// The pod's enrolment once the control plane has told us about it (and, with <see cref="RequireNode"/>, placed it
    /// on this node), waiting at most <paramref name="timeout"/>; null if it did not happen in time.
    /// </summary>
    public async Task<PodEnrollmentInfo?> WaitForPodAsync(string ns, string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var key = $"{ns}/{name}";
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            TaskCompletionSource tcs;
            lock (_lock)
            {
                if (_pods.TryGetValue(key, out var p) && Usable(p))
                    return p;
                tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                if (!_waiters.TryGetValue(key, out var list))
                    _waiters[key] = list = [];
                list.Add(tcs);
            }
            var left = deadline - DateTime.UtcNow;
            try
            {
                if (left <= TimeSpan.Zero)
                    return null;
                await tcs.Task.WaitAsync(left, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return null;
            }
            finally
            {
                lock (_lock)
                {
                    if (_waiters.TryGetValue(key, out var list) && list.Remove(tcs) && list.Count == 0)
                        _waiters.Remove(key);
                }
            }
        }
    }

    private bool Usable(PodEnrollmentInfo p) => RequireNode is null || p.Node.Length == 0 || p.Node == RequireNode;

    private static bool Same(PodEnrollmentInfo a, PodEnrollmentInfo b) =>
        a.Uid == b.Uid && a.Node == b.Node && a.Enrolled == b.Enrolled && a.ServiceAccount == b.ServiceAccount
        && a.Addresses.SequenceEqual(b.Addresses);

    private static partial class Log
    {
        [LoggerMessage(EventId = 610, Level = LogLevel.Information, Message = "Pod enrollment view synced: {Count} pods known")]
        public static partial void Synced(ILogger logger, int count);

        [LoggerMessage(EventId = 611, Level = LogLevel.Information, Message = "Pod {Pod} is now {State}")]
        public static partial void Flipped(ILogger logger, string pod, string state);
    }
}
