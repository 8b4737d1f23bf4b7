using System.Net;
using Ambient.Agent.Admin;
using Ambient.Agent.Identity;
using Ambient.Agent.Inbound;
using Ambient.Agent.Outbound;
using Ambient.Agent.Proxy;
using Ambient.Net.Cni;
using Ambient.Net.Netns;
using Ambient.Net.Redirection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.InPod;

/// <summary>
/// Owns every pod's capture: CNI ADD/CHECK/DEL, live enrollment changes, and re-adoption after a restart.
/// All state changes run under one lock (they are rare and each takes tens of milliseconds of iptables work);
/// the data path never takes it.
/// <code>
///   capture   = open netns → listeners 15001/15006 (marked, in the netns) → rules (IRedirectionBackend)
///               → registry (persisted) → answer "captured" → report redirection=enabled
///   uncapture = remove rules if the netns still exists → close listeners (ends their connections) → registry
/// </code>
/// Any failure during capture rolls back what was done, so a pod is never left with rules but no listeners.
/// On agent stop, listeners close but rules stay: traffic fails closed until the next agent re-adopts the pod.
/// </summary>
public sealed partial class PodCaptureManager : IHostedService, IAsyncDisposable
{
    private readonly PodRegistry _registry;
    private readonly IRedirectionBackend _backend;
    private readonly NetNsExecutor _executor;
    private readonly IEnrollment _enrollment;
    private readonly IRedirectionReporter _reporter;
    private readonly OutboundHandler _outbound;
    private readonly InboundPlaintextHandler _inbound;
    private readonly InboundHboneHandler _hbone;
    private readonly IWorkloadIdentities _identities;
    private readonly AgentMetrics _metrics;
    private readonly InPodOptions _options;
    private readonly ProxyOptions _proxy;
    private readonly ILogger _logger;
    private readonly ILogger<PodListener> _listenerLogger;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<string, CapturedPod> _captured = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _adopted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly IDisposable _notReady;
    private readonly CancellationTokenSource _stopping = new();

    public PodCaptureManager(PodRegistry registry, IRedirectionBackend backend, NetNsExecutor executor, IEnrollment enrollment, IRedirectionReporter reporter,
        OutboundHandler outbound, InboundPlaintextHandler inbound, InboundHboneHandler hbone, IWorkloadIdentities identities, AgentMetrics metrics, Readiness readiness, InPodOptions options, ProxyOptions proxy,
        ILogger<PodCaptureManager> logger, ILogger<PodListener> listenerLogger)
    {
        _registry = registry;
        _backend = backend;
        _executor = executor;
        _enrollment = enrollment;
        _reporter = reporter;
        _outbound = outbound;
        _inbound = inbound;
        _hbone = hbone;
        _identities = identities;
        _metrics = metrics;
        _options = options;
        _proxy = proxy;
        _logger = logger;
        _listenerLogger = listenerLogger;
        _notReady = readiness.Register("pod re-adoption");
    }

    /// <summary>Completes once persisted pods are re-adopted; CNI requests wait for it.</summary>
    public Task Adopted => _adopted.Task;

    public PodRegistry Registry => _registry;

    public IReadOnlyList<PodStatus> Status()
    {
        var pods = _registry.Snapshot();
        lock (_captured)
        {
            return pods.Select(p => _captured.TryGetValue(p.Key, out var c)
                ? new PodStatus(p, c.Listeners.Select(l => $"{l.Role}@{l.LocalEndPoint}").ToArray(), c.ActiveConnections)
                : new PodStatus(p, [], 0)).ToArray();
        }
    }

    /// <summary>The live capture of a pod, or null (tests and diagnostics).</summary>
    public CapturedPod? Find(string podNamespace, string podName)
    {
        lock (_captured)
        {
            return _captured.GetValueOrDefault(podNamespace + "/" + podName);
        }
    }

    // ---- CNI ----

    public async Task<PodAddResponse> AddAsync(PodAddRequest request, CancellationToken cancellationToken)
    {
        var key = request.PodNamespace + "/" + request.PodName;
        if (string.IsNullOrEmpty(request.Netns))
        {
            throw new CniRequestException(400, $"ADD for pod {key} has no netns path (CNI_NETNS is empty)");
        }
        await Adopted.WaitAsync(cancellationToken).ConfigureAwait(false);
        var decision = await _enrollment.WaitForPodAsync(request.PodNamespace, request.PodName, _options.EnrollmentWait, cancellationToken).ConfigureAwait(false);
        if (decision.Status == EnrollmentStatus.Unknown)
        {
            string message = $"pod {key} is not known to the node agent after {_options.EnrollmentWait.TotalSeconds:0.#}s ({decision.Reason ?? "no workload from the control plane yet"}); failing the ADD so the runtime retries";
            InPodLog.AddRefused(_logger, key, message);
            throw new CniRequestException(503, message);
        }

        PodEntry entry;
        bool captured;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ulong inode = NetNs.TryGetInode(request.Netns)
                ?? throw new CniRequestException(400, $"netns '{request.Netns}' of pod {key} cannot be opened (does the sandbox exist?)");
            var existing = _registry.Get(key);
            bool sameSandbox = existing is not null && existing.NetnsPath == request.Netns && existing.NetnsInode == inode;
            if (existing is not null && !sameSandbox)
            {
                // A recreated sandbox: the old one's capture is stale.
                await UncaptureLockedAsync(existing, "sandbox replaced", cancellationToken).ConfigureAwait(false);
            }
            entry = new PodEntry
            {
                Namespace = request.PodNamespace,
                Name = request.PodName,
                Uid = decision.PodUid.Length > 0 ? decision.PodUid : request.PodUid,
                ContainerId = request.ContainerId,
                NetnsPath = request.Netns,
                NetnsInode = inode,
                Ips = request.Ips.Select(ip => StripPrefix(ip.Address)).ToArray(),
                State = PodState.NotEnrolled,
                Updated = DateTimeOffset.UtcNow,
            };
            if (decision.Status == EnrollmentStatus.NotEnrolled)
            {
                if (sameSandbox && existing!.State != PodState.NotEnrolled)
                {
                    await UncaptureLockedAsync(existing, "not enrolled", cancellationToken).ConfigureAwait(false);
                }
                _registry.Upsert(entry);
                InPodLog.NotEnrolled(_logger, key, decision.Reason ?? "enrollment selectors do not match");
                return new PodAddResponse(PodHandoff.ResultNotEnrolled, decision.Reason);
            }
            captured = sameSandbox && existing!.State == PodState.Captured && IsLive(key);
            if (captured)
            {
                entry = entry with { State = PodState.Captured };
                _registry.Upsert(entry); // a repeated ADD: keep the capture, refresh container id and IPs
            }
            else
            {
                try
                {
                    await CaptureLockedAsync(entry, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    throw new CniRequestException(500, $"capturing pod {key} failed: {e.Message}", e);
                }
            }
        }
        finally
        {
            _lock.Release();
        }
        await ReportAsync(entry.Ref, RedirectionStatus.Enabled).ConfigureAwait(false);
        return new PodAddResponse(PodHandoff.ResultCaptured);
    }

    /// <summary>CNI CHECK: 200 captured / not-enrolled, 409 when the pod should be captured and is not (rules inspected).</summary>
    public async Task<(int Status, PodAddResponse? Ok, string? Error)> CheckAsync(PodRequest request, CancellationToken cancellationToken)
    {
        await Adopted.WaitAsync(cancellationToken).ConfigureAwait(false);
        var key = request.PodNamespace + "/" + request.PodName;
        var entry = _registry.Get(key);
        if (entry?.State == PodState.NotEnrolled)
        {
            return (200, new PodAddResponse(PodHandoff.ResultNotEnrolled), null);
        }
        if (entry?.State == PodState.Captured && IsLive(key))
        {
            var inspection = await _backend.InspectAsync(entry.NetnsPath, _options.Rules, cancellationToken).ConfigureAwait(false);
            return inspection.Complete
                ? (200, new PodAddResponse(PodHandoff.ResultCaptured), null)
                : (409, null, $"pod {key} is captured but its rules are {inspection}");
        }
        if (entry is null)
        {
            var decision = await _enrollment.WaitForPodAsync(request.PodNamespace, request.PodName, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
            if (decision.Status == EnrollmentStatus.NotEnrolled)
            {
                return (200, new PodAddResponse(PodHandoff.ResultNotEnrolled), null);
            }
        }
        return (409, null, $"pod {key} is enrolled but not captured ({entry?.State.ToString() ?? "no ADD seen"}{(entry?.Error is { } err ? ": " + err : "")})");
    }

    /// <summary>CNI DEL: idempotent; unknown pods, stale sandboxes and missing netns are fine.</summary>
    public async Task DelAsync(PodRequest request, CancellationToken cancellationToken)
    {
        await Adopted.WaitAsync(cancellationToken).ConfigureAwait(false);
        var key = request.PodNamespace + "/" + request.PodName;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var entry = _registry.Get(key);
            if (entry is null)
            {
                return;
            }
            if (request.ContainerId.Length > 0 && entry.ContainerId.Length > 0 && request.ContainerId != entry.ContainerId)
            {
                InPodLog.StaleDel(_logger, key, request.ContainerId, entry.ContainerId);
                return;
            }
            await UncaptureLockedAsync(entry, "CNI DEL", cancellationToken).ConfigureAwait(false);
            _registry.Remove(key);
        }
        finally
        {
            _lock.Release();
        }
    }

    // ---- live enrollment changes ----

    /// <summary>Captures or uncaptures a running pod whose enrollment flipped; no-op for pods this node never saw.</summary>
    public async Task ApplyEnrollmentAsync(EnrollmentChange change, CancellationToken cancellationToken)
    {
        await Adopted.WaitAsync(cancellationToken).ConfigureAwait(false);
        var key = change.PodNamespace + "/" + change.PodName;
        RedirectionStatus? report = null;
        PodRef? pod = null;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var entry = _registry.Get(key);
            if (entry is null)
            {
                InPodLog.ChangeForUnknownPod(_logger, key);
                return;
            }
            if (change.PodUid.Length > 0 && entry.Uid.Length > 0 && change.PodUid != entry.Uid)
            {
                return; // about another incarnation of the pod
            }
            if (!NetNs.Exists(entry.NetnsPath, entry.NetnsInode))
            {
                await UncaptureLockedAsync(entry, "netns gone", cancellationToken).ConfigureAwait(false);
                _registry.Remove(key);
                return;
            }
            pod = entry.Ref;
            if (change.Enrolled && (entry.State != PodState.Captured || !IsLive(key)))
            {
                try
                {
                    await CaptureLockedAsync(entry with { Uid = entry.Uid.Length > 0 ? entry.Uid : change.PodUid }, cancellationToken).ConfigureAwait(false);
                    report = RedirectionStatus.Enabled;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _registry.Upsert(entry with { State = PodState.Pending, Error = e.Message, Updated = DateTimeOffset.UtcNow });
                    report = RedirectionStatus.Pending;
                }
            }
            else if (!change.Enrolled && entry.State != PodState.NotEnrolled)
            {
                await UncaptureLockedAsync(entry, "enrollment removed", cancellationToken).ConfigureAwait(false);
                _registry.Upsert(entry with { State = PodState.NotEnrolled, Error = null, Updated = DateTimeOffset.UtcNow });
                report = RedirectionStatus.Disabled;
            }
        }
        finally
        {
            _lock.Release();
        }
        if (report is { } status && pod is not null)
        {
            await ReportAsync(pod, status).ConfigureAwait(false);
        }
    }

    // ---- hosting ----

    /// <summary>Re-adopts persisted pods: drop those whose netns is gone, reconcile rules and reopen listeners for the rest.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        int dropped = 0;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var persisted = _registry.Load();
            var alive = new List<PodEntry>();
            foreach (var e in persisted)
            {
                if (NetNs.Exists(e.NetnsPath, e.NetnsInode))
                {
                    alive.Add(e);
                }
                else
                {
                    InPodLog.AdoptDropped(_logger, e.Key, e.NetnsPath);
                    dropped++;
                }
            }
            _registry.Replace(alive);
            foreach (var e in alive)
            {
                if (e.State == PodState.NotEnrolled)
                {
                    var leftover = await _backend.InspectAsync(e.NetnsPath, _options.Rules, cancellationToken).ConfigureAwait(false);
                    if (!leftover.Absent)
                    {
                        await _backend.RemoveAsync(e.NetnsPath, cancellationToken).ConfigureAwait(false);
                    }
                    continue;
                }
                try
                {
                    var inspection = await _backend.InspectAsync(e.NetnsPath, _options.Rules, cancellationToken).ConfigureAwait(false);
                    if (!inspection.Complete)
                    {
                        InPodLog.AdoptReconciled(_logger, e.Key, inspection.ToString());
                    }
                    await CaptureLockedAsync(e, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _registry.Upsert(e with { State = PodState.Pending, Error = ex.Message, Updated = DateTimeOffset.UtcNow });
                }
            }
            InPodLog.Adopted(_logger, _registry.Count(PodState.Captured), _registry.Count(PodState.NotEnrolled), _registry.Count(PodState.Pending), dropped);
        }
        finally
        {
            _lock.Release();
        }
        _adopted.TrySetResult();
        _notReady.Dispose();
        _ = VerifyAdoptedAsync(_stopping.Token);
    }

    /// <summary>Closes every listener; rules and the registry stay for the next agent.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            CapturedPod[] all;
            lock (_captured)
            {
                all = _captured.Values.ToArray();
                _captured.Clear();
            }
            foreach (var pod in all)
            {
                await pod.DisposeAsync().ConfigureAwait(false);
            }
            UpdateGauge();
        }
        finally
        {
            _lock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        _stopping.Dispose();
    }

    // ---- internals (callers hold _lock) ----

    private async Task CaptureLockedAsync(PodEntry entry, CancellationToken cancellationToken)
    {
        var netns = NetNs.Open(entry.NetnsPath);
        CapturedPod? pod = null;
        bool rulesApplied = false;
        try
        {
            if (netns.Inode != entry.NetnsInode && entry.NetnsInode != 0)
            {
                throw new IOException($"netns '{entry.NetnsPath}' now has inode {netns.Inode}, not {entry.NetnsInode}: another sandbox");
            }
            pod = new CapturedPod(entry.Ref, netns, entry.Ips.Select(IPAddress.Parse).ToArray());
            pod.Add(await PodListener.StartAsync(_executor, pod, OutboundHandler.Direction, _proxy.OutboundPort, _proxy.PacketMark, _outbound, _listenerLogger, pod.Stopping).ConfigureAwait(false));
            pod.Add(await PodListener.StartAsync(_executor, pod, InboundPlaintextHandler.Direction, _proxy.InboundPlaintextPort, _proxy.PacketMark, _inbound, _listenerLogger, pod.Stopping).ConfigureAwait(false));
            if (_identities.Enabled)
            {
                // Without a CA there is no identity to present, so 15008 stays closed and peers fall back to 15006.
                pod.Add(await PodListener.StartAsync(_executor, pod, InboundHboneHandler.Direction, _proxy.InboundHbonePort, _proxy.PacketMark, _hbone, _listenerLogger, pod.Stopping).ConfigureAwait(false));
            }
            // Listeners first, then rules: with the rules first, a running pod's new connections were redirected to
            // ports nobody listened on yet and refused while the listeners started (seen by tests/Ambient.E2E when a
            // namespace is labelled). Listeners without rules capture nothing, so this order never drops traffic.
            rulesApplied = true;
            await _backend.ApplyAsync(entry.NetnsPath, _options.Rules, cancellationToken).ConfigureAwait(false);
            lock (_captured)
            {
                _captured[entry.Key] = pod;
            }
            _registry.Upsert(entry with { State = PodState.Captured, Error = null, Updated = DateTimeOffset.UtcNow });
            UpdateGauge();
            InPodLog.Captured(_logger, entry.Key, entry.NetnsPath, string.Join(',', entry.Ips), _backend.Name, string.Join(',', pod.Listeners.Select(l => l.LocalEndPoint.Port)));
        }
        catch (Exception e)
        {
            InPodLog.CaptureFailed(_logger, entry.Key, e);
            if (pod is not null)
            {
                await pod.DisposeAsync().ConfigureAwait(false); // also disposes netns
            }
            else
            {
                netns.Dispose();
            }
            if (rulesApplied)
            {
                await TryRemoveRulesAsync(entry).ConfigureAwait(false);
            }
            throw;
        }
    }

    private async Task UncaptureLockedAsync(PodEntry entry, string why, CancellationToken cancellationToken)
    {
        CapturedPod? pod;
        lock (_captured)
        {
            _captured.Remove(entry.Key, out pod);
        }
        // Rules first, then listeners: closing the listeners first left the rules redirecting the pod's new
        // connections to closed ports (refused) until iptables finished, ~100 ms (seen by tests/Ambient.E2E when a
        // namespace's label is removed). Once the rules are gone new connections go direct; closing the listeners
        // then ends the connections they still proxy, as before.
        bool removed = false;
        if (NetNs.Exists(entry.NetnsPath, entry.NetnsInode))
        {
            removed = await TryRemoveRulesAsync(entry).ConfigureAwait(false);
        }
        if (pod is not null)
        {
            await pod.DisposeAsync().ConfigureAwait(false);
        }
        UpdateGauge();
        if (pod is not null || removed)
        {
            InPodLog.Uncaptured(_logger, entry.Key, why, removed);
        }
        _ = cancellationToken;
    }

    private async Task<bool> TryRemoveRulesAsync(PodEntry entry)
    {
        try
        {
            // Not cancellable: a half-removed rule set is worse than a slow request.
            await _backend.RemoveAsync(entry.NetnsPath, CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is RedirectionException or IOException)
        {
            InPodLog.RemoveFailed(_logger, entry.Key, e);
            return false;
        }
    }

    private async Task VerifyAdoptedAsync(CancellationToken ct)
    {
        // Re-adopted pods were captured under the old agent's view; re-confirm each with the current one.
        var pods = _registry.Snapshot().Where(p => p.State != PodState.NotEnrolled).ToArray();
        await Task.WhenAll(pods.Select(async p =>
        {
            try
            {
                var d = await _enrollment.WaitForPodAsync(p.Namespace, p.Name, _options.AdoptionVerifyWait, ct).ConfigureAwait(false);
                if (d.Status == EnrollmentStatus.NotEnrolled)
                {
                    await ApplyEnrollmentAsync(new EnrollmentChange(p.Namespace, p.Name, d.PodUid, Enrolled: false), ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // agent stopping
            }
        })).ConfigureAwait(false);
    }

    private bool IsLive(string key)
    {
        lock (_captured)
        {
            return _captured.ContainsKey(key);
        }
    }

    private void UpdateGauge()
    {
        lock (_captured)
        {
            _metrics.CapturedPods = _captured.Count;
        }
    }

    private async Task ReportAsync(PodRef pod, RedirectionStatus status)
    {
        using var cts = new CancellationTokenSource(_options.ReportTimeout);
        try
        {
            await _reporter.ReportAsync(pod, status, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            InPodLog.ReportFailed(_logger, pod.Key, status, e);
        }
    }

    private static string StripPrefix(string cidr)
    {
        int slash = cidr.IndexOf('/');
        return slash < 0 ? cidr : cidr[..slash];
    }
}
