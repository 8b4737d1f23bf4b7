using System.Collections.Concurrent;
using Ambient.Agent.Inbound;
using Ambient.Agent.State;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ambient.Agent.Policy;

/// <summary>
/// One inbound connection admitted by L4 authorization and still open. Dispose (or
/// <see cref="LiveConnectionRegistry.Deregister"/>) when it closes.
/// </summary>
public sealed class LiveConnection : IDisposable
{
    // State, changed only by compare-and-swap: null (registered, admission pending) → Opened (admitted) → Closed,
    // or → a Revocation (a policy change denied it: from pending, the registering thread reports it; from Opened,
    // the re-evaluation aborts it), or null → Closed (denied at registration).
    private static readonly object Opened = new(), Closed = new();
    private readonly LiveConnectionRegistry _registry;
    private readonly Action<PolicyDecision> _abort;
    private PolicyDecision _admission;
    private object? _state;

    internal LiveConnection(LiveConnectionRegistry registry, long id, ConnectionFacts facts, Action<PolicyDecision> abort)
    {
        _registry = registry;
        Id = id;
        Facts = facts;
        Destination = facts.Destination;
        _abort = abort;
    }

    public long Id { get; }

    /// <summary>As registered.</summary>
    public ConnectionFacts Facts { get; }

    /// <summary>The destination workload as last evaluated (the snapshot's newer copy after a re-evaluation).</summary>
    internal Workload Destination { get; set; }

    /// <summary>The admission decision, or the one that later revoked the connection.</summary>
    public PolicyDecision Decision => Volatile.Read(ref _state) is Revocation r ? r.Decision : _admission;

    /// <summary>Allowed at registration: the connection may proceed (until revoked). Valid once Register returned.</summary>
    public bool Admitted { get; private set; }

    /// <summary>Admitted and neither revoked nor closed.</summary>
    public bool IsLive => ReferenceEquals(Volatile.Read(ref _state), Opened);

    /// <summary>A policy change denied it (after admission, its abort callback ran or is running).</summary>
    public bool IsRevoked => Volatile.Read(ref _state) is Revocation;

    /// <summary>Pending or admitted: what a re-evaluation must look at.</summary>
    internal bool IsOpenOrPending => Volatile.Read(ref _state) is null || IsLive;

    /// <summary>Registration's outcome: true when admitted; false when a concurrent re-evaluation revoked it first.</summary>
    internal bool TryAdmit(PolicyDecision decision)
    {
        _admission = decision;
        Admitted = Interlocked.CompareExchange(ref _state, Opened, null) is null;
        return Admitted;
    }

    /// <summary>Denied at registration: true unless a concurrent re-evaluation revoked it first.</summary>
    internal bool TryRefuse(PolicyDecision decision)
    {
        _admission = decision;
        return Interlocked.CompareExchange(ref _state, Closed, null) is null;
    }

    /// <summary>
    /// Ends a pending or admitted connection with <paramref name="decision"/>. Returns whether this call did it, and
    /// whether it was admitted then (so its owner must be told through the abort callback).
    /// </summary>
    internal (bool Revoked, bool WasAdmitted) TryRevoke(PolicyDecision decision)
    {
        var revocation = new Revocation(decision);
        while (true)
        {
            var s = Volatile.Read(ref _state);
            if (s is not null && !ReferenceEquals(s, Opened))
                return (false, false);
            if (ReferenceEquals(Interlocked.CompareExchange(ref _state, revocation, s), s))
                return (true, s is not null);
        }
    }

    internal void Close()
    {
        while (true)
        {
            var s = Volatile.Read(ref _state);
            if (s is not null && !ReferenceEquals(s, Opened))
                return;
            if (ReferenceEquals(Interlocked.CompareExchange(ref _state, Closed, s), s))
                return;
        }
    }

    internal void Abort(PolicyDecision decision) => _abort(decision);

    public void Dispose() => _registry.Deregister(Id);

    public override string ToString() => $"#{Id} {Facts}";

    private sealed class Revocation(PolicyDecision decision)
    {
        public PolicyDecision Decision { get; } = decision;
    }
}

/// <summary>
/// The inbound connections L4 authorization admitted and that are still open. When the policies change (or a
/// destination workload's policy list does), every affected connection is re-evaluated against the new snapshot and
/// the denied ones are aborted through their callback and counted (<see cref="DenyStage.Live"/>), as ztunnel
/// re-checks open connections when policies change.
/// <para>
/// Register/deregister are one <see cref="ConcurrentDictionary{TKey,TValue}"/> add/remove by a long id (striped locks,
/// no global lock). Re-evaluation runs on the thread pool, never on the store's notification thread; updates arriving
/// meanwhile are coalesced into one more pass.
/// </para>
/// </summary>
public sealed class LiveConnectionRegistry : IDisposable
{
    private readonly ConcurrentDictionary<long, LiveConnection> _live = new();
    private readonly WorkloadStore _store;
    private readonly L4PolicyEvaluator _evaluator;
    private readonly PolicyMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Lock _pendingLock = new();
    private readonly HashSet<string> _pendingWorkloads = new(StringComparer.Ordinal);
    private bool _pendingAll, _scheduled;
    private long _nextId;

    public LiveConnectionRegistry(WorkloadStore store, L4PolicyEvaluator evaluator, PolicyMetrics metrics, ILogger<LiveConnectionRegistry>? logger = null)
    {
        _store = store;
        _evaluator = evaluator;
        _metrics = metrics;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _store.Changed += OnChanged;
    }

    /// <summary>Live connections.</summary>
    public int Count => _live.Count;

    public IEnumerable<LiveConnection> Connections => _live.Values;

    /// <summary>
    /// Evaluates <paramref name="facts"/> against the current snapshot and, when allowed, keeps the connection live
    /// until it is disposed. Check <see cref="LiveConnection.Admitted"/>: when false the connection must be refused
    /// (it is counted as denied at <see cref="DenyStage.Connect"/> and not registered). <paramref name="abort"/> is
    /// called at most once, from a thread-pool thread, if a later policy change denies the connection; it must not block
    /// (close the sockets or cancel the copy loop). Registration happens before the evaluation, so a policy change
    /// racing with it is seen by one or the other.
    /// </summary>
    public LiveConnection Register(ConnectionFacts facts, Action<PolicyDecision> abort) => Register(facts, abort, afterCheck: false);

    /// <summary>
    /// <paramref name="afterCheck"/>: the caller already admitted the connection (<see cref="IInboundAuthorizer"/>'s
    /// Check, then Track once the upstream is connected), so a denial here is a policy change in between: counted as
    /// <see cref="DenyStage.Live"/> and reported through <paramref name="abort"/> like any later one.
    /// </summary>
    internal LiveConnection Register(ConnectionFacts facts, Action<PolicyDecision> abort, bool afterCheck)
    {
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(abort);
        var conn = new LiveConnection(this, Interlocked.Increment(ref _nextId), facts, abort);
        _live[conn.Id] = conn;
        var snapshot = _store.Current;
        // Judge by the destination's policy list as of this snapshot (the caller may have looked it up earlier).
        var dest = snapshot.Workloads.TryGetValue(facts.Destination.Uid, out var w) ? w : facts.Destination;
        conn.Destination = dest;
        var decision = _evaluator.Evaluate(ReferenceEquals(dest, facts.Destination) ? facts : facts with { Destination = dest }, snapshot);
        if (!afterCheck && decision.DryRunDiffers)
            PolicyLog.DryRun(_logger, facts, decision.Reason, decision.DryRunReason);
        if (decision.Allowed ? conn.TryAdmit(decision) : conn.TryRefuse(decision))
        {
            if (decision.Allowed)
                return conn;
        }
        else
        {
            // A re-evaluation against a newer snapshot revoked it while pending: that decision stands.
            decision = conn.Decision;
        }
        _live.TryRemove(conn.Id, out _);
        if (afterCheck)
        {
            // The caller already let it through: a policy change in between, reported like any later one.
            _metrics.Denied(decision, DenyStage.Live);
            PolicyLog.Revoked(_logger, conn.Id, facts, decision.Reason, snapshot.Version);
            AbortSafely(conn, decision);
        }
        else
        {
            _metrics.Denied(decision, DenyStage.Connect);
            PolicyLog.Denied(_logger, facts, decision.Reason);
        }
        return conn;
    }

    /// <summary>Forgets a connection (it closed). Idempotent.</summary>
    public void Deregister(long id)
    {
        if (_live.TryRemove(id, out var conn))
            conn.Close();
    }

    /// <summary>Re-evaluates every live connection against the current snapshot now; returns how many were aborted.</summary>
    public int Revalidate() => Revalidate(_store.Current, null);

    public void Dispose() => _store.Changed -= OnChanged;

    private void OnChanged(WorkloadStoreChange change)
    {
        if (_live.IsEmpty || (change.Policies.Count == 0 && change.Workloads.Count == 0))
            return;
        lock (_pendingLock)
        {
            if (change.Policies.Count > 0)
                _pendingAll = true;
            else if (!_pendingAll)
                _pendingWorkloads.UnionWith(change.Workloads);
            if (_scheduled)
                return;
            _scheduled = true;
        }
        ThreadPool.UnsafeQueueUserWorkItem(static r => r.Drain(), this, preferLocal: false);
    }

    private void Drain()
    {
        while (true)
        {
            HashSet<string>? workloads;
            lock (_pendingLock)
            {
                if (!_pendingAll && _pendingWorkloads.Count == 0)
                {
                    _scheduled = false;
                    return;
                }
                workloads = _pendingAll ? null : new HashSet<string>(_pendingWorkloads, StringComparer.Ordinal);
                _pendingAll = false;
                _pendingWorkloads.Clear();
            }
            try
            {
                Revalidate(_store.Current, workloads);
            }
            catch (Exception e)
            {
                PolicyLog.RevalidationFailed(_logger, e);
            }
        }
    }

    /// <summary>
    /// <paramref name="workloads"/> null: policies changed, re-evaluate everything. Otherwise only connections to those
    /// workloads whose policy list changed.
    /// </summary>
    private int Revalidate(WorkloadSnapshot snapshot, HashSet<string>? workloads)
    {
        var aborted = 0;
        foreach (var (_, conn) in _live)
        {
            if (!conn.IsOpenOrPending)
                continue;
            var previous = conn.Destination;
            // A workload gone from the snapshot keeps its last known policies (its connections end on their own).
            var dest = snapshot.Workloads.TryGetValue(previous.Uid, out var w) ? w : previous;
            if (workloads is not null)
            {
                if (!workloads.Contains(previous.Uid))
                    continue;
                conn.Destination = dest;
                if (dest.AuthorizationPolicies.AsSpan().SequenceEqual(previous.AuthorizationPolicies.AsSpan()))
                    continue;
            }
            conn.Destination = dest;
            var facts = ReferenceEquals(dest, conn.Facts.Destination) ? conn.Facts : conn.Facts with { Destination = dest };
            var decision = _evaluator.Evaluate(facts, snapshot);
            if (decision.Allowed)
                continue;
            var (revoked, wasAdmitted) = conn.TryRevoke(decision);
            // Revoked while its registration was pending: Register sees it, counts and reports it.
            if (!revoked || !wasAdmitted)
                continue;
            _live.TryRemove(conn.Id, out _);
            _metrics.Denied(decision, DenyStage.Live);
            PolicyLog.Revoked(_logger, conn.Id, conn.Facts, decision.Reason, snapshot.Version);
            AbortSafely(conn, decision);
            aborted++;
        }
        return aborted;
    }

    private void AbortSafely(LiveConnection conn, PolicyDecision decision)
    {
        try
        {
            conn.Abort(decision);
        }
        catch (Exception e)
        {
            PolicyLog.AbortFailed(_logger, conn.Id, e);
        }
    }
}
