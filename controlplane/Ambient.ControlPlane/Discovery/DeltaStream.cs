using Ambient.ControlPlane.Hosting;
using Ambient.Xds;
using Ambient.Xds.Protos.Discovery;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Ambient.ControlPlane.Discovery;

/// <summary>
/// One <c>DeltaAggregatedResources</c> (incremental) stream. Per type it tracks wildcard and named
/// subscriptions and the version of every resource the client holds, and sends only differences:
/// changed resources, and <c>removed_resources</c> for deletions, for names the client unsubscribed from,
/// and for subscribed names that do not exist. <c>initial_resource_versions</c> on a reconnect seed what the
/// client holds, so nothing unchanged is resent. A NACK is logged and counted; the rejected version counts
/// as sent, so it is not retried until the resource changes again.
/// </summary>
internal sealed class DeltaStream(SnapshotCache cache, ControlPlaneMetrics metrics, ILogger logger, IServerStreamWriter<DeltaDiscoveryResponse> writer)
    : XdsStream<DeltaDiscoveryRequest>(cache, metrics, logger, "delta")
{
    private sealed class TypeState
    {
        public bool Wildcard;
        public readonly HashSet<string> Names = new(StringComparer.Ordinal);

        /// <summary>name → version the client holds; "" means we told it the name does not exist.</summary>
        public readonly Dictionary<string, string> Held = new(StringComparer.Ordinal);

        public bool Wants(string name) => Wildcard || Names.Contains(name);
    }

    private readonly Dictionary<string, TypeState> _types = new(StringComparer.Ordinal);

    protected override string NodeIdOf(DeltaDiscoveryRequest request) => request.Node?.Id ?? "";

    protected override async Task HandleRequestAsync(DeltaDiscoveryRequest request, CancellationToken ct)
    {
        var type = request.TypeUrl;
        if (!ReferenceEquals(Cache.Current, Applied))
            await HandleSnapshotAsync(Cache.Current, ct);

        var first = !_types.TryGetValue(type, out var state);
        if (state is null)
        {
            if (!TypeUrls.All.Contains(type))
                XdsStreamLog.UnknownType(Logger, StreamId, NodeId, type);
            state = new TypeState();
            _types[type] = state;
            foreach (var (name, version) in request.InitialResourceVersions)
                state.Held[name] = version;
            // Legacy wildcard: a first request that names nothing subscribes to everything.
            state.Wildcard = request.ResourceNamesSubscribe.Count == 0;
        }

        if (request.ResponseNonce.Length > 0)
        {
            if (request.ErrorDetail is { } error)
            {
                CountNack(type);
                XdsStreamLog.Nack(Logger, StreamId, NodeId, type, request.ResponseNonce, error.Message);
            }
            else
            {
                XdsStreamLog.Ack(Logger, StreamId, type, request.ResponseNonce);
            }
        }

        var response = new DeltaDiscoveryResponse { TypeUrl = type };
        var set = Applied.Get(type);
        var newlyWanted = new List<string>();
        var wildcardAdded = false;
        foreach (var name in request.ResourceNamesSubscribe)
        {
            if (name == "*")
            {
                wildcardAdded |= !state.Wildcard;
                state.Wildcard = true;
            }
            else if (state.Names.Add(name) || first)
            {
                newlyWanted.Add(name);
            }
        }
        foreach (var name in request.ResourceNamesUnsubscribe)
        {
            if (name == "*")
            {
                state.Wildcard = false;
                continue;
            }
            state.Names.Remove(name);
        }
        // Whatever the client no longer wants and still holds is confirmed removed.
        if (request.ResourceNamesUnsubscribe.Count > 0)
        {
            foreach (var name in state.Held.Keys.ToList())
            {
                if (!state.Wants(name))
                {
                    if (state.Held[name].Length > 0)
                        response.RemovedResources.Add(name);
                    state.Held.Remove(name);
                }
            }
        }

        if (first || wildcardAdded)
        {
            // Everything wanted that the client does not hold at this version, and everything it holds that is gone.
            if (state.Wildcard)
            {
                foreach (var r in set.Items.Values)
                    AddIfChanged(state, r, response);
            }
            foreach (var (name, version) in state.Held.ToList())
            {
                if (version.Length > 0 && !set.Items.ContainsKey(name))
                {
                    response.RemovedResources.Add(name);
                    // Still subscribed by name: remember it was reported missing (as Reconcile does), so the
                    // newlyWanted pass below does not report it a second time in this same response.
                    if (state.Names.Contains(name))
                        state.Held[name] = "";
                    else
                        state.Held.Remove(name);
                }
            }
        }
        foreach (var name in newlyWanted)
        {
            if (set.Items.TryGetValue(name, out var r))
                AddIfChanged(state, r, response);
            else if (!state.Held.TryGetValue(name, out var v) || v.Length > 0)
            {
                response.RemovedResources.Add(name);
                state.Held[name] = "";
            }
        }

        if (first || response.Resources.Count > 0 || response.RemovedResources.Count > 0)
            await SendAsync(response, ct);
    }

    protected override async Task HandleSnapshotAsync(XdsSnapshot snapshot, CancellationToken ct)
    {
        var changes = snapshot.Sequence == Applied.Sequence + 1 ? snapshot.ChangesSincePrevious : null;
        Applied = snapshot;
        foreach (var (type, state) in _types)
        {
            var set = snapshot.Get(type);
            var response = new DeltaDiscoveryResponse { TypeUrl = type };
            if (changes is not null)
            {
                if (!changes.TryGetValue(type, out var changed))
                    continue;
                foreach (var name in changed)
                    Reconcile(state, name, set, response);
            }
            else
            {
                // Lagged more than one snapshot: compare everything we could care about.
                if (state.Wildcard)
                {
                    foreach (var r in set.Items.Values)
                        AddIfChanged(state, r, response);
                }
                else
                {
                    foreach (var name in state.Names)
                        Reconcile(state, name, set, response);
                }
                foreach (var name in state.Held.Keys.ToList())
                {
                    if (!set.Items.ContainsKey(name))
                        Reconcile(state, name, set, response);
                }
            }
            if (response.Resources.Count > 0 || response.RemovedResources.Count > 0)
                await SendAsync(response, ct);
        }
    }

    private static void Reconcile(TypeState state, string name, XdsResourceSet set, DeltaDiscoveryResponse response)
    {
        if (!state.Wants(name))
            return;
        if (set.Items.TryGetValue(name, out var r))
        {
            AddIfChanged(state, r, response);
        }
        else if (state.Held.TryGetValue(name, out var v) && v.Length > 0)
        {
            response.RemovedResources.Add(name);
            if (state.Wildcard && !state.Names.Contains(name))
                state.Held.Remove(name);
            else
                state.Held[name] = ""; // still subscribed by name: remember it was reported missing
        }
    }

    private static void AddIfChanged(TypeState state, XdsResource r, DeltaDiscoveryResponse response)
    {
        if (state.Held.TryGetValue(r.Name, out var v) && v == r.Version)
            return;
        response.Resources.Add(r.Delta);
        state.Held[r.Name] = r.Version;
    }

    private async Task SendAsync(DeltaDiscoveryResponse response, CancellationToken ct)
    {
        response.Nonce = NextNonce();
        response.SystemVersionInfo = Applied.Version;
        using (await EnterLargeWriteAsync(response.Resources.Count, ct))
            await writer.WriteAsync(response, ct);
        CountPush(response.TypeUrl);
        XdsStreamLog.Sent(Logger, StreamId, response.TypeUrl, response.Resources.Count, response.RemovedResources.Count, response.Nonce);
    }
}
