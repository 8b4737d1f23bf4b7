using Ambient.ControlPlane.Tests.Testing;
using Ambient.Xds;
using Ambient.Xds.Protos.Cluster;
using Ambient.Xds.Protos.Discovery;
using Ambient.Xds.Protos.Endpoint;
using Ambient.Xds.Protos.Listener;
using Ambient.Xds.Protos.Route;
using Ambient.Xds.Protos.Security;
using Google.Protobuf.WellKnownTypes;
using WorkloadAddress = Ambient.Xds.Protos.Workload.Address;

namespace Ambient.ControlPlane.Tests.Discovery;

/// <summary>
/// One response of either flavour, seen the same way: resources by name (SotW: the full subscribed set;
/// Delta: what changed) and, for Delta, the removed names.
/// </summary>
internal sealed record AdsResponse(string Flavour, string TypeUrl, string Version, string Nonce,
    IReadOnlyDictionary<string, Any> Resources, IReadOnlyList<string> Removed)
{
    public IReadOnlyList<string> Names => [.. Resources.Keys.Order(StringComparer.Ordinal)];

    public T Get<T>(string name) where T : Google.Protobuf.IMessage, new()
    {
        Assert.True(Resources.TryGetValue(name, out var any), $"{Flavour} {TypeUrl} response lacks {name}; it has [{string.Join(", ", Names)}]");
        return any.Unpack<T>();
    }
}

/// <summary>
/// A test's view of one ADS stream of either flavour, so protocol rules common to both run as one theory.
/// The SotW side keeps what a real client keeps per type (subscribed names, last accepted version) to build
/// ACKs and NACKs; the Delta side checks every resource envelope (name matches payload, version set).
/// </summary>
internal abstract class AdsSession : IAsyncDisposable
{
    public const string Sotw = "sotw";
    public const string Delta = "delta";

    public static AdsSession Open(TestControlPlane cp, string flavour) => flavour switch
    {
        Sotw => new SotwSession(SotwAdsClient.Connect(cp)),
        Delta => new DeltaSession(DeltaAdsClient.Connect(cp)),
        _ => throw new ArgumentOutOfRangeException(nameof(flavour)),
    };

    public abstract string Flavour { get; }

    /// <summary>The first request for a type: wildcard when no names are given (for the types that allow it).</summary>
    public abstract Task SubscribeAsync(string typeUrl, params string[] names);

    public abstract Task<AdsResponse> ReceiveAsync(TimeSpan? timeout = null);

    public abstract Task AckAsync(AdsResponse response);

    public abstract Task NackAsync(AdsResponse response);

    public abstract Task ExpectNoResponseAsync(TimeSpan? window = null, string because = "");

    public abstract ValueTask DisposeAsync();

    /// <summary>The name a resource's own payload gives it, by the conventions the server must follow.</summary>
    public static string NameOf(Any any) => any.TypeUrl switch
    {
        TypeUrls.Address => any.Unpack<WorkloadAddress>() switch
        {
            { TypeCase: WorkloadAddress.TypeOneofCase.Workload } a => a.Workload.Uid,
            { TypeCase: WorkloadAddress.TypeOneofCase.Service } a => $"{a.Service.Namespace}/{a.Service.Hostname}",
            var a => throw new Xunit.Sdk.XunitException($"Address with neither workload nor service: {a}"),
        },
        TypeUrls.Authorization => any.Unpack<Authorization>() is var p ? $"{p.Namespace}/{p.Name}" : "",
        TypeUrls.Listener => any.Unpack<Listener>().Name,
        TypeUrls.RouteConfiguration => any.Unpack<RouteConfiguration>().Name,
        TypeUrls.Cluster => any.Unpack<Cluster>().Name,
        TypeUrls.ClusterLoadAssignment => any.Unpack<ClusterLoadAssignment>().ClusterName,
        _ => throw new Xunit.Sdk.XunitException($"unexpected resource type {any.TypeUrl}"),
    };

    public static AdsResponse View(DiscoveryResponse r)
    {
        var resources = new Dictionary<string, Any>(StringComparer.Ordinal);
        foreach (var any in r.Resources)
        {
            Assert.Equal(r.TypeUrl, any.TypeUrl);
            Assert.True(resources.TryAdd(NameOf(any), any), $"SotW response lists {NameOf(any)} twice");
        }
        return new AdsResponse(Sotw, r.TypeUrl, r.VersionInfo, r.Nonce, resources, []);
    }

    public static AdsResponse View(DeltaDiscoveryResponse r)
    {
        var resources = new Dictionary<string, Any>(StringComparer.Ordinal);
        foreach (var res in r.Resources)
        {
            Assert.Equal(r.TypeUrl, res.Resource_.TypeUrl);
            Assert.Equal(res.Name, NameOf(res.Resource_));
            Assert.False(string.IsNullOrEmpty(res.Version), $"delta resource {res.Name} has no version");
            Assert.True(resources.TryAdd(res.Name, res.Resource_), $"delta response lists {res.Name} twice");
        }
        return new AdsResponse(Delta, r.TypeUrl, r.SystemVersionInfo, r.Nonce, resources, [.. r.RemovedResources]);
    }

    private sealed class SotwSession(SotwAdsClient client) : AdsSession
    {
        private readonly Dictionary<string, string[]> _names = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _accepted = new(StringComparer.Ordinal);

        public override string Flavour => Sotw;

        public override Task SubscribeAsync(string typeUrl, params string[] names)
        {
            _names[typeUrl] = names;
            return client.RequestAsync(typeUrl, names);
        }

        public override async Task<AdsResponse> ReceiveAsync(TimeSpan? timeout = null) => View(await client.ReceiveAsync(timeout));

        public override Task AckAsync(AdsResponse response)
        {
            _accepted[response.TypeUrl] = response.Version;
            return client.RequestAsync(response.TypeUrl, _names.GetValueOrDefault(response.TypeUrl), response.Version, response.Nonce);
        }

        public override Task NackAsync(AdsResponse response) =>
            client.RequestAsync(response.TypeUrl, _names.GetValueOrDefault(response.TypeUrl), _accepted.GetValueOrDefault(response.TypeUrl, ""),
                response.Nonce, "rejected by test");

        public override Task ExpectNoResponseAsync(TimeSpan? window = null, string because = "") => client.ExpectNoResponseAsync(window, because);

        public override ValueTask DisposeAsync() => client.DisposeAsync();
    }

    private sealed class DeltaSession(DeltaAdsClient client) : AdsSession
    {
        public override string Flavour => Delta;

        public override Task SubscribeAsync(string typeUrl, params string[] names) => client.RequestAsync(typeUrl, names);

        public override async Task<AdsResponse> ReceiveAsync(TimeSpan? timeout = null) => View(await client.ReceiveAsync(timeout));

        public override Task AckAsync(AdsResponse response) => client.RequestAsync(response.TypeUrl, nonce: response.Nonce);

        public override Task NackAsync(AdsResponse response) => client.RequestAsync(response.TypeUrl, nonce: response.Nonce, error: "rejected by test");

        public override Task ExpectNoResponseAsync(TimeSpan? window = null, string because = "") => client.ExpectNoResponseAsync(window, because);

        public override ValueTask DisposeAsync() => client.DisposeAsync();
    }
}
