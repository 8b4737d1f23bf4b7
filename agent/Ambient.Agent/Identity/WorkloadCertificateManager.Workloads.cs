using Ambient.Agent.State;
using Ambient.Identity;

namespace Ambient.Agent.Identity;

// Which identities are in use on this node: workloads whose WDS node is ours and that are HBONE (captured). The first
// such workload of an identity prefetches its certificate (Warmup); when the last leaves, the certificate is forgotten.
// Tracked incrementally: each change re-reads only the workloads it names.
public sealed partial class WorkloadCertificateManager
{
    /// <summary>Workload resource name → the identity it counts for.</summary>
    private readonly Dictionary<string, SpiffeId> _localWorkloads = new(StringComparer.Ordinal);

    private void OnStoreChanged(WorkloadStoreChange change)
    {
        if (change.Workloads.Count > 0)
            Track(_store!.Current, change.Workloads);
    }

    private void TrackAll(WorkloadSnapshot snapshot) => Track(snapshot, [.. snapshot.Workloads.Keys, .. _localWorkloads.Keys]);

    private void Track(WorkloadSnapshot snapshot, IEnumerable<string> names)
    {
        lock (_lock)
        {
            if (_stopped)
                return;
            foreach (var name in names)
            {
                SpiffeId? now = snapshot.Workloads.TryGetValue(name, out var w) ? LocalIdentity(w) : null;
                var had = _localWorkloads.TryGetValue(name, out var before);
                if (had && now == before)
                    continue;
                if (had)
                {
                    _localWorkloads.Remove(name);
                    Release(before);
                }
                if (now is { } id)
                {
                    _localWorkloads[name] = id;
                    Acquire(id);
                }
            }
        }
    }

    private SpiffeId? LocalIdentity(Workload w)
    {
        if (w.Node != _node || w.Tunnel != TunnelProtocol.Hbone || !SpiffeId.TryParse(w.Identity, out var id))
            return null;
        if (id.TrustDomain != _options.TrustDomain)
        {
            IdentityLog.ForeignIdentity(_logger, w.Uid, id.ToString(), _options.TrustDomain);
            return null;
        }
        return id;
    }

    private void Acquire(SpiffeId id)
    {
        var entry = _entries.GetOrAdd(id, static i => new Entry(i));
        entry.LocalWorkloads++;
        if (entry.LocalWorkloads == 1 && Valid(entry.Certificate) is null && !entry.Fetching)
            EnqueueLocked(entry, FetchPriority.Warmup);
        else if (entry.LocalWorkloads == 1 && entry.Certificate is { } c && entry.NextAttempt is null && !entry.Fetching && entry.Queued is null)
            ScheduleLocked(entry, RenewalPoint(c));
    }

    private void Release(SpiffeId id)
    {
        if (!_entries.TryGetValue(id, out var entry) || --entry.LocalWorkloads > 0)
            return;
        if (entry.Waiters is not null)
            return; // a connection is waiting for it: it goes at its renewal point instead
        RemoveLocked(entry);
        IdentityLog.Dropped(_logger, id.ToString(), "the last workload of this identity left this node");
    }
}
