using Ambient.Identity;

namespace Ambient.Agent.Identity;

// The fetch queue: a priority queue with lazy deletion (an entry re-queued at a higher priority leaves a stale item
// that is skipped), a counting semaphore of queued items, and a semaphore of fetch slots. The dispatcher takes a slot
// before it dequeues, so the highest-priority item at the moment a slot frees is the one that runs.
public sealed partial class WorkloadCertificateManager
{
    private readonly PriorityQueue<(Entry Entry, long Sequence), (FetchPriority, long)> _queue = new();
    private readonly SemaphoreSlim _queuedItems = new(0);
    private readonly SemaphoreSlim _slots;
    private long _sequence;

    /// <summary>Queues a fetch unless one is running or queued at the same or a higher priority; supersedes a pending timer.</summary>
    private void EnqueueLocked(Entry entry, FetchPriority priority)
    {
        if (entry.Fetching || (entry.Queued is { } queued && queued <= priority) || _stopped)
            return;
        CancelTimerLocked(entry);
        entry.Queued = priority;
        entry.QueueSequence = ++_sequence;
        _queue.Enqueue((entry, entry.QueueSequence), (priority, entry.QueueSequence));
        _queuedItems.Release();
        IdentityLog.Queued(_logger, entry.Id.ToString(), priority);
    }

    private async Task DispatchAsync(CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await _slots.WaitAsync(ct).ConfigureAwait(false);
                Entry? entry = null;
                while (entry is null)
                {
                    await _queuedItems.WaitAsync(ct).ConfigureAwait(false);
                    lock (_lock)
                    {
                        var (candidate, sequence) = _queue.Dequeue();
                        if (!candidate.Removed && candidate.Queued is not null && candidate.QueueSequence == sequence)
                        {
                            candidate.Queued = null;
                            candidate.Fetching = true;
                            entry = candidate;
                        }
                    }
                }
                _ = FetchAsync(entry, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task FetchAsync(Entry entry, CancellationToken ct)
    {
        try
        {
            var cert = await _ca.FetchAsync(entry.Id, _trust.Current, ct).ConfigureAwait(false);
            Succeeded(entry, cert);
        }
        catch (CaFetchException e)
        {
            Failed(entry, e.Reason, e.Message, e);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Failed(entry, CaFetchReason.Unavailable, "the agent is stopping", null);
        }
        catch (Exception e)
        {
            IdentityLog.FetchCrashed(_logger, e, entry.Id.ToString());
            Failed(entry, CaFetchReason.Unavailable, e.Message, e);
        }
        finally
        {
            _slots.Release();
        }
    }

    private void Succeeded(Entry entry, WorkloadCertificate cert)
    {
        TaskCompletionSource<WorkloadCertificate>? waiters;
        var renewAt = RenewalPoint(cert);
        lock (_lock)
        {
            entry.Fetching = false;
            entry.Certificate = cert;
            entry.Backoff = TimeSpan.Zero;
            entry.LastError = null;
            waiters = entry.Waiters;
            entry.Waiters = null;
            if (!entry.Removed && !_stopped)
                ScheduleLocked(entry, renewAt);
        }
        Metrics.FetchSucceeded();
        IdentityLog.Issued(_logger, entry.Id.ToString(), cert.Leaf.SerialNumber, cert.NotBefore, cert.NotAfter, renewAt);
        waiters?.TrySetResult(cert);
    }

    private void Failed(Entry entry, string reason, string message, Exception? inner)
    {
        TaskCompletionSource<WorkloadCertificate>? waiters;
        string next;
        lock (_lock)
        {
            entry.Fetching = false;
            entry.LastError = message;
            waiters = entry.Waiters;
            entry.Waiters = null;
            var valid = Valid(entry.Certificate) is not null;
            if (entry.Removed || _stopped)
            {
                next = "not retried (no longer needed)";
            }
            else if (entry.LocalWorkloads > 0 || valid)
            {
                var delay = entry.Backoff > TimeSpan.Zero ? entry.Backoff : _options.InitialBackoff;
                entry.Backoff = Min(delay * 2, _options.MaxBackoff);
                ScheduleLocked(entry, _time.GetUtcNow() + delay);
                next = valid ? $"keeping the current certificate (valid until {entry.Certificate!.NotAfter:o}), retrying in {delay}" : $"retrying in {delay}";
            }
            else
            {
                RemoveLocked(entry);
                next = "not retried: no workload of this identity runs on this node";
            }
        }
        if (!_stopped)
        {
            Metrics.FetchFailed(reason);
            IdentityLog.FetchFailed(_logger, entry.Id.ToString(), reason, message, next);
        }
        waiters?.TrySetException(new IdentityUnavailableException(entry.Id, reason, $"no certificate for {entry.Id}: {message}", inner));
    }

    /// <summary>
    /// Half-life (<see cref="WorkloadCertificate.RenewAt"/>), unless that has already passed: the CA back-dates notBefore
    /// for clock skew (ours by a minute), which with a short TTL puts half-life in the past. Then half of what is left,
    /// and never sooner than the initial backoff, so a short-lived certificate is not re-fetched in a loop.
    /// </summary>
    private DateTimeOffset RenewalPoint(WorkloadCertificate cert)
    {
        var now = _time.GetUtcNow();
        if (cert.RenewAt > now)
            return cert.RenewAt;
        var half = (cert.NotAfter - now) / 2;
        return now + (half > _options.InitialBackoff ? half : _options.InitialBackoff);
    }

    /// <summary>Arms the entry's one timer (renewal or retry) for <paramref name="at"/>.</summary>
    private void ScheduleLocked(Entry entry, DateTimeOffset at)
    {
        CancelTimerLocked(entry);
        entry.NextAttempt = at;
        ArmLocked(entry, at);
    }

    private void ArmLocked(Entry entry, DateTimeOffset at)
    {
        var delay = at - _time.GetUtcNow();
        if (delay < TimeSpan.Zero)
            delay = TimeSpan.Zero;
        if (delay > MaxTimerStep)
            delay = MaxTimerStep;
        entry.Timer = _time.CreateTimer(static s => ((TimerState)s!).Fire(), new TimerState(this, entry, at), delay, Timeout.InfiniteTimeSpan);
    }

    private void CancelTimerLocked(Entry entry)
    {
        entry.Timer?.Dispose();
        entry.Timer = null;
        entry.NextAttempt = null;
    }

    private void TimerFired(Entry entry, DateTimeOffset at)
    {
        lock (_lock)
        {
            if (entry.Removed || entry.NextAttempt != at || _stopped)
                return; // superseded
            if (_time.GetUtcNow() < at)
            {
                ArmLocked(entry, at); // a long wait in steps
                return;
            }
            entry.Timer?.Dispose();
            entry.Timer = null;
            entry.NextAttempt = null;
            if (entry.LocalWorkloads == 0)
            {
                // Requested once (GetAsync) but no workload of it runs here: not renewed, fetched again on demand.
                RemoveLocked(entry);
                IdentityLog.Dropped(_logger, entry.Id.ToString(), "not renewed: no workload of this identity runs on this node");
                return;
            }
            EnqueueLocked(entry, Valid(entry.Certificate) is not null ? FetchPriority.Background : FetchPriority.Warmup);
        }
    }

    private void RemoveLocked(Entry entry)
    {
        CancelTimerLocked(entry);
        entry.Removed = true;
        entry.Queued = null;
        _entries.TryRemove(new KeyValuePair<SpiffeId, Entry>(entry.Id, entry));
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private sealed class TimerState(WorkloadCertificateManager owner, Entry entry, DateTimeOffset at)
    {
        public void Fire() => owner.TimerFired(entry, at);
    }
}
