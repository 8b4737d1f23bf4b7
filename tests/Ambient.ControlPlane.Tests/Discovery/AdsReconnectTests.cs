using Ambient.ControlPlane.Tests.Testing;
using Ambient.Xds;
using Ambient.Xds.Protos.Workload;
using WorkloadAddress = Ambient.Xds.Protos.Workload.Address;
using static Ambient.ControlPlane.Tests.Testing.BookinfoLite;

namespace Ambient.ControlPlane.Tests.Discovery;

/// <summary>Delta reconnects that carry initial_resource_versions: only differences are sent.</summary>
public sealed class AdsReconnectTests
{
    private static async Task<DeltaState> HoldAsync(TestControlPlane cp, string typeUrl, params string[] names)
    {
        await using var client = DeltaAdsClient.Connect(cp);
        await client.RequestAsync(typeUrl, subscribe: names);
        var state = new DeltaState();
        state.Apply(await client.ReceiveAsync());
        return state;
    }

    private static Dictionary<string, string> ServerVersions(TestControlPlane cp, string typeUrl) =>
        cp.Cache.Current.Get(typeUrl).Items.ToDictionary(kv => kv.Key, kv => kv.Value.Version, StringComparer.Ordinal);

    [Fact]
    public async Task DeltaReconnect_WildcardWithInitialVersions_SendsOnlyChangedAndNewAndRemovesDeleted()
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        var held = await HoldAsync(cp, TypeUrls.Address);
        Assert.Equal(6, held.Resources.Count);

        // While disconnected: web changes, batch goes away, a canary pod appears; everything else is untouched.
        await cp.WriteFileAndWaitAsync("web.yaml", Web(webVersion: "v2", withBatch: false));
        await cp.WriteFileAndWaitAsync("echo-canary.yaml", EchoCanaryFile());

        await using var client = DeltaAdsClient.Connect(cp);
        await client.RequestAsync(TypeUrls.Address, initialVersions: held.Versions());
        var response = await client.ReceiveAsync();
        var r = AdsSession.View(response);

        Assert.Equal([WorkloadUid(Shop, EchoCanary), WebUid], r.Names);
        Assert.Equal([BatchUid], r.Removed);
        Assert.Equal("v2", r.Get<WorkloadAddress>(WebUid).Workload.CanonicalRevision);
        held.Apply(response);
        Assert.Equal(ServerVersions(cp, TypeUrls.Address), held.Versions());
        await client.ExpectNoResponseAsync(because: "the reconnect response brought the client up to date");
    }

    [Fact]
    public async Task DeltaReconnect_InitialVersionsAllCurrent_ResendsNothingButStaysSubscribed()
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        var held = await HoldAsync(cp, TypeUrls.Address);

        await using var client = DeltaAdsClient.Connect(cp);
        await client.RequestAsync(TypeUrls.Address, initialVersions: held.Versions());
        var first = await client.TryReceiveAsync(TimeSpan.FromMilliseconds(500));
        if (first is not null)
        {
            Assert.Empty(first.Resources);
            Assert.Empty(first.RemovedResources);
            await client.RequestAsync(TypeUrls.Address, nonce: first.Nonce);
        }

        await cp.WriteFileAndWaitAsync("web.yaml", Web(webVersion: "v2"));
        var push = AdsSession.View(await client.ReceiveAsync());
        Assert.Equal([WebUid], push.Names);
    }

    [Fact]
    public async Task DeltaReconnect_NamedWithInitialVersions_SendsChangedAndReportsDeletedNameOnce()
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        var held = await HoldAsync(cp, TypeUrls.ClusterLoadAssignment, ClusterName(80), ClusterName(9090));
        Assert.Equal(2, held.Resources.Count);

        // While disconnected: port 9090 leaves the service, and a (not Ready) canary joins port 80.
        await cp.WriteFileAndWaitAsync("echo.yaml", Echo(withGrpcPort: false));
        await cp.WriteFileAndWaitAsync("echo-canary.yaml", EchoCanaryFile());

        await using var client = DeltaAdsClient.Connect(cp);
        await client.RequestAsync(TypeUrls.ClusterLoadAssignment, subscribe: [ClusterName(80), ClusterName(9090)], initialVersions: held.Versions());
        var r = AdsSession.View(await client.ReceiveAsync());

        Assert.Equal([ClusterName(80)], r.Names);
        Assert.Equal([ClusterName(9090)], r.Removed);
        await client.ExpectNoResponseAsync(because: "the reconnect response brought the client up to date");
    }

    [Fact]
    public async Task DeltaReconnect_NamedInitialVersionsUnchanged_ResendsNothing()
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        var held = await HoldAsync(cp, TypeUrls.ClusterLoadAssignment, ClusterName(80), ClusterName(9090));

        // A change elsewhere in the mesh (not in the load assignments) while disconnected.
        await cp.WriteFileAndWaitAsync("web.yaml", Web(webVersion: "v2"));

        await using var client = DeltaAdsClient.Connect(cp);
        await client.RequestAsync(TypeUrls.ClusterLoadAssignment, subscribe: [ClusterName(80), ClusterName(9090)], initialVersions: held.Versions());
        var first = await client.TryReceiveAsync(TimeSpan.FromMilliseconds(500));
        Assert.True(first is null || first.Resources.Count == 0 && first.RemovedResources.Count == 0,
            $"unchanged load assignments were resent: {first}");
        Assert.Equal(ServerVersions(cp, TypeUrls.ClusterLoadAssignment), held.Versions());
    }

    [Fact]
    public async Task DeltaReconnect_ToRestartedControlPlane_ResendsOnlyWhatDiffers()
    {
        // Versions are content hashes, so what a client holds stays valid across a control-plane restart.
        Dictionary<string, string> held;
        await using (var before = await TestControlPlane.StartAsync(Files()))
            held = (await HoldAsync(before, TypeUrls.Address)).Versions();
        var files = Files();
        files["web.yaml"] = Web(webVersion: "v2");
        await using var cp = await TestControlPlane.StartAsync(files);

        await using var client = DeltaAdsClient.Connect(cp);
        await client.RequestAsync(TypeUrls.Address, initialVersions: held);
        var r = AdsSession.View(await client.ReceiveAsync());

        Assert.Equal([WebUid], r.Names);
        Assert.Empty(r.Removed);
    }
}
