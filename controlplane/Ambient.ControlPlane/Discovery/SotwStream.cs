using Ambient.ControlPlane.Hosting;
using Ambient.Xds;
using Ambient.Xds.Protos.Discovery;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Ambient.ControlPlane.Discovery;

/// <summary>
/// One <c>StreamAggregatedResources</c> (state of the world) stream. Per type it tracks the subscription, the
/// last nonce sent and what the client was last sent; every response carries the full subscribed set of its type.
/// Requests with a stale nonce are ignored; a NACK is logged and counted and nothing is resent until the
/// resources change, so a client that rejects a version is never pushed into a loop.
/// </summary>
internal sealed class SotwStream(SnapshotCache cache, ControlPlaneMetrics metrics, ILogger logger, IServerStreamWriter<DiscoveryResponse> writer)
    : XdsStream<DiscoveryRequest>(cache, metrics, logger, "sotw")
{
    private sealed class TypeState
    {
        public bool Wildcard;
        public HashSet<string> Names = new(StringComparer.Ordinal);
        public string LastNonce = "";
        public string AckedVersion = "";

        /// <summary>name → version of what the last response held.</summary>
        public Dictionary<string, string> Sent = new(StringComparer.Ordinal);
    }

    private readonly Dictionary<string, TypeState> _types = new(StringComparer.Ordinal);

    protected override string NodeIdOf(DiscoveryRequest request) => request.Node?.Id ?? "";

    protected override async Task HandleRequestAsync(DiscoveryRequest request, CancellationToken ct)
    {
        var type = request.TypeUrl;
        if (!ReferenceEquals(Cache.Current, Applied))
            await HandleSnapshotAsync(Cache.Current, ct);

        if (!_types.TryGetValue(type, out var state))
        {
            if (!TypeUrls.All.Contains(type))
                XdsStreamLog.UnknownType(Logger, StreamId, NodeId, type);
            state = new TypeState();
            _types[type] = state;
            SetNames(state, type, request, first: true);
            await SendAsync(type, state, ct);
            return;
        }

        // A request that answers an older response than the last one is stale: the client will see the newer
        // response and answer that one (xDS protocol, "ACK and NACK semantics").
        if (request.ResponseNonce.Length > 0 && request.ResponseNonce != state.LastNonce)
        {
            XdsStreamLog.StaleNonce(Logger, StreamId, type, request.ResponseNonce);
            return;
        }

        if (request.ErrorDetail is { } error)
        {
            CountNack(type);
            XdsStreamLog.Nack(Logger, StreamId, NodeId, type, request.ResponseNonce, error.Message);
        }
        else if (request.ResponseNonce.Length > 0)
        {
            state.AckedVersion = request.VersionInfo;
            XdsStreamLog.Ack(Logger, StreamId, type, request.ResponseNonce);
        }

        if (SetNames(state, type, request, first: false))
            await SendAsync(type, state, ct);
    }

    /// <summary>Returns true when the subscription changed.</summary>
    private static bool SetNames(TypeState state, string type, DiscoveryRequest request, bool first)
    {
        var names = request.ResourceNames;
        var wildcard = names.Contains("*") || (names.Count == 0 && TypeUrls.IsWildcardByDefault(type) && (first || state.Wildcard));
        var set = new HashSet<string>(names.Where(n => n != "*"), StringComparer.Ordinal);
        if (!first && wildcard == state.Wildcard && set.SetEquals(state.Names))
            return false;
        state.Wildcard = wildcard;
        state.Names = set;
        return true;
    }

    protected override async Task HandleSnapshotAsync(XdsSnapshot snapshot, CancellationToken ct)
    {
        // The snapshot's change list is relative to its predecessor: usable only if that is what we applied.
        var changes = snapshot.Sequence == Applied.Sequence + 1 ? snapshot.ChangesSincePrevious : null;
        Applied = snapshot;
        foreach (var (type, state) in _types)
        {
            if (changes is not null && changes.TryGetValue(type, out var changed) && changed.Count == 0)
                continue;
            if (!SameAsSent(state, snapshot.Get(type)))
                await SendAsync(type, state, ct);
        }
    }

    private static bool SameAsSent(TypeState state, XdsResourceSet set)
    {
        var count = 0;
        foreach (var r in Select(state, set))
        {
            count++;
            if (!state.Sent.TryGetValue(r.Name, out var v) || v != r.Version)
                return false;
        }
        return count == state.Sent.Count;
    }

    private static IEnumerable<XdsResource> Select(TypeState state, XdsResourceSet set)
    {
        if (state.Wildcard)
            return set.Items.Values;
        return state.Names.Select(n => set.Items.GetValueOrDefault(n)).OfType<XdsResource>();
    }

    private async Task SendAsync(string type, TypeState state, CancellationToken ct)
    {
        var snapshot = Applied;
        var response = new DiscoveryResponse { TypeUrl = type, VersionInfo = snapshot.Version, Nonce = NextNonce() };
        var sent = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var r in Select(state, snapshot.Get(type)).OrderBy(r => r.Name, StringComparer.Ordinal))
        {
            response.Resources.Add(r.Any);
            sent[r.Name] = r.Version;
        }
        state.Sent = sent;
        state.LastNonce = response.Nonce;
        using (await EnterLargeWriteAsync(response.Resources.Count, ct))
            await WriteAsync(response, ct);
        CountPush(type);
        XdsStreamLog.Sent(Logger, StreamId, type, response.Resources.Count, 0, response.Nonce);
    }

    private Task WriteAsync(DiscoveryResponse response, CancellationToken ct) => writer.WriteAsync(response, ct);
}
