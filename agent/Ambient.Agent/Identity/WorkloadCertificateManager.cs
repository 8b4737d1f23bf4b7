using System.Collections.Concurrent;
using System.Text;
using Ambient.Agent.State;
using Ambient.Identity;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ambient.Agent.Identity;

/// <summary>
/// One certificate per service-account identity in use on this node (ztunnel's <c>SecretManager</c>, protocol facts §g):
/// <code>
/// WorkloadStore ─changed─▶ local HBONE workloads by identity ─first─▶ queue (Warmup)
///                                                            └─last gone─▶ forget
/// GetAsync ─valid cached─▶ return (renewal never blocks it)
///          └─none/expired─▶ queue (RealTime), wait on the identity's one shared fetch
/// queue (RealTime &gt; Warmup &gt; Background) ─▶ ≤ MaxConcurrentFetches × ICaClient.FetchAsync
///          ok ─▶ cache, timer at RenewAt (half-life) ─▶ queue (Background)
///          failed ─▶ keep the old certificate, retry after 500 ms, 1 s, 2 s … 150 s
/// </code>
/// Keys are generated locally (<see cref="CaClient"/>) and never sent. Time comes from the injected
/// <see cref="TimeProvider"/>, so renewal and backoff are tested without sleeping.
/// </summary>
public sealed partial class WorkloadCertificateManager : IWorkloadIdentities, IHostedService, IDisposable
{
    /// <summary>Timers are re-armed in steps of at most this (System.Threading timers cap near 49 days).</summary>
    private static readonly TimeSpan MaxTimerStep = TimeSpan.FromDays(1);

    private readonly IdentityOptions _options;
    private readonly string _node;
    private readonly ICaClient _ca;
    private readonly TrustBundleFile _trust;
    private readonly TimeProvider _time;
    private readonly WorkloadStore? _store;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<SpiffeId, Entry> _entries = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _dispatcher;

    /// <summary>Set under the lock when stopping: nothing is queued or scheduled after it.</summary>
    private bool _stopped;

    public WorkloadCertificateManager(IdentityOptions options, string node, ICaClient ca, TrustBundleFile trust, TimeProvider time,
        IdentityMetrics metrics, WorkloadStore? store = null, ILogger<WorkloadCertificateManager>? logger = null)
    {
        _options = options;
        _node = node;
        _ca = ca;
        _trust = trust;
        _time = time;
        _store = store;
        Metrics = metrics;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _slots = new SemaphoreSlim(options.MaxConcurrentFetches);
        _trust.Changed += _ => _ca.OnTrustChanged();
    }

    public bool Enabled => true;

    public TrustBundle TrustBundle => _trust.Current;

    public IdentityMetrics Metrics { get; }

    public ValueTask<WorkloadCertificate> GetAsync(SpiffeId id, CancellationToken ct)
    {
        if (_entries.TryGetValue(id, out var cached) && Valid(cached.Certificate) is { } fast)
            return ValueTask.FromResult(fast);
        if (id.TrustDomain != _options.TrustDomain)
        {
            return ValueTask.FromException<WorkloadCertificate>(new IdentityUnavailableException(id, CaFetchReason.ForeignTrustDomain,
                $"no certificate for {id}: it is outside this agent's trust domain '{_options.TrustDomain}' (--trust-domain)"));
        }
        Task<WorkloadCertificate> pending;
        lock (_lock)
        {
            if (_stopped)
                return ValueTask.FromException<WorkloadCertificate>(new ObjectDisposedException(nameof(WorkloadCertificateManager), "the agent is stopping"));
            var entry = _entries.GetOrAdd(id, static i => new Entry(i));
            if (Valid(entry.Certificate) is { } cert)
                return ValueTask.FromResult(cert);
            entry.Waiters ??= new TaskCompletionSource<WorkloadCertificate>(TaskCreationOptions.RunContinuationsAsynchronously);
            pending = entry.Waiters.Task;
            EnqueueLocked(entry, FetchPriority.RealTime);
        }
        return new ValueTask<WorkloadCertificate>(pending.WaitAsync(ct));
    }

    public bool TryGetCached(SpiffeId id, out WorkloadCertificate cert)
    {
        cert = (_entries.TryGetValue(id, out var entry) ? Valid(entry.Certificate) : null)!;
        return cert is not null;
    }

    /// <summary>Every identity held or being fetched, by identity (<c>/certs</c>).</summary>
    public IReadOnlyList<CertificateStatus> Status()
    {
        var now = _time.GetUtcNow();
        var list = new List<CertificateStatus>();
        lock (_lock)
        {
            foreach (var e in _entries.Values)
            {
                var c = e.Certificate;
                var valid = c is not null && now < c.NotAfter;
                var state = e.Fetching || e.Queued is not null ? (valid ? "renewing" : "fetching")
                    : e.LastError is not null ? "backoff"
                    : valid ? "valid"
                    : c is not null ? "expired" : "fetching";
                list.Add(new CertificateStatus(e.Id.ToString(), state, e.LocalWorkloads > 0, c?.NotBefore, c?.NotAfter, c?.RenewAt,
                    e.NextAttempt, c?.Leaf.SerialNumber, e.LastError));
            }
        }
        list.Sort((a, b) => string.CompareOrdinal(a.Identity, b.Identity));
        return list;
    }

    /// <summary>Appends the certificate metrics to a <c>/metrics</c> page.</summary>
    public void WriteMetrics(StringBuilder sb)
    {
        var now = _time.GetUtcNow();
        var held = 0;
        DateTimeOffset? next = null;
        lock (_lock)
        {
            foreach (var e in _entries.Values)
            {
                if (e.Certificate is { } c && now < c.NotAfter)
                    held++;
                if (e.NextAttempt is { } at && (next is null || at < next))
                    next = at;
            }
        }
        Metrics.Render(sb, held, next);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        IdentityLog.Enabled(_logger, (_ca as CaClient)?.Target ?? _ca.GetType().Name, _node, _options.TrustDomain, _options.CertTtl, _trust.Path);
        if (_store is not null)
        {
            _store.Changed += OnStoreChanged;
            TrackAll(_store.Current);
        }
        _dispatcher = Task.Run(() => DispatchAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_store is not null)
            _store.Changed -= OnStoreChanged;
        List<TaskCompletionSource<WorkloadCertificate>> waiters = [];
        lock (_lock)
        {
            _stopped = true;
            foreach (var e in _entries.Values)
            {
                CancelTimerLocked(e);
                if (e.Waiters is { } w)
                    waiters.Add(w);
                e.Waiters = null;
            }
        }
        _stopping.Cancel();
        foreach (var w in waiters)
            w.TrySetCanceled();
        if (_dispatcher is { } d)
            await d.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stopped = true;
            foreach (var e in _entries.Values)
                CancelTimerLocked(e);
        }
        _stopping.Cancel();
    }

    private WorkloadCertificate? Valid(WorkloadCertificate? cert) => cert is not null && _time.GetUtcNow() < cert.NotAfter ? cert : null;

    /// <summary>One identity's certificate and its fetch state. Fields other than <see cref="Certificate"/> change under the manager's lock.</summary>
    private sealed class Entry(SpiffeId id)
    {
        private WorkloadCertificate? _certificate;

        public SpiffeId Id { get; } = id;

        /// <summary>Read without the lock on the GetAsync fast path.</summary>
        public WorkloadCertificate? Certificate
        {
            get => Volatile.Read(ref _certificate);
            set => Volatile.Write(ref _certificate, value);
        }

        /// <summary>Local HBONE workloads with this identity; 0 for an identity only requested through GetAsync.</summary>
        public int LocalWorkloads { get; set; }

        public bool Fetching { get; set; }

        /// <summary>The priority of its live queue item, or null when not queued.</summary>
        public FetchPriority? Queued { get; set; }

        /// <summary>Identifies the live queue item: older items for this entry are skipped when dequeued.</summary>
        public long QueueSequence { get; set; }

        /// <summary>Callers waiting for the fetch in flight (they all get its outcome).</summary>
        public TaskCompletionSource<WorkloadCertificate>? Waiters { get; set; }

        /// <summary>The delay before the next retry; zero after a success.</summary>
        public TimeSpan Backoff { get; set; }

        public ITimer? Timer { get; set; }

        /// <summary>When the renewal or retry timer fires.</summary>
        public DateTimeOffset? NextAttempt { get; set; }

        public string? LastError { get; set; }

        /// <summary>Forgotten: it is no longer in the map and outcomes of its fetch only reach its waiters.</summary>
        public bool Removed { get; set; }
    }
}
