using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Tests.Testing;
using Ambient.Xds;
using Ambient.Xds.Protos.Workload;
using WorkloadAddress = Ambient.Xds.Protos.Workload.Address;
using static Ambient.ControlPlane.Tests.Testing.BookinfoLite;

namespace Ambient.ControlPlane.Tests.Discovery;

/// <summary>ACK, NACK and nonce handling, and what a config change pushes afterwards.</summary>
public sealed class AdsAckNackTests
{
    public static TheoryData<string> Flavours => [AdsSession.Sotw, AdsSession.Delta];

    private static string NackLabels(string flavour, string typeUrl) =>
        $"{ControlPlaneMetrics.Label("flavour", flavour)},{ControlPlaneMetrics.Label("type_url", typeUrl)}";

    /// <summary>Rewrites web.yaml so that only the web pod's workload changes (canonical revision from its version label).</summary>
    private static Task ChangeWebWorkloadAsync(TestControlPlane cp, string version) => cp.WriteFileAndWaitAsync("web.yaml", Web(webVersion: version));

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task Ack_NoConfigChange_NothingResent(string flavour)
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        await using var session = AdsSession.Open(cp, flavour);
        await session.SubscribeAsync(TypeUrls.Address);
        await session.SubscribeAsync(TypeUrls.Cluster);
        var first = await session.ReceiveAsync();
        var second = await session.ReceiveAsync();
        Assert.Equal([TypeUrls.Address, TypeUrls.Cluster], new[] { first.TypeUrl, second.TypeUrl });

        await session.AckAsync(first);
        await session.AckAsync(second);

        await session.ExpectNoResponseAsync(because: "both types were ACKed and nothing changed");
    }

    [Fact]
    public async Task SotwConfigChange_AfterAck_PushesFullChangedTypeWithNewVersionOnly()
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        await using var session = AdsSession.Open(cp, AdsSession.Sotw);
        await session.SubscribeAsync(TypeUrls.Address);
        var addresses = await session.ReceiveAsync();
        await session.AckAsync(addresses);
        await session.SubscribeAsync(TypeUrls.Cluster);
        await session.AckAsync(await session.ReceiveAsync());

        await ChangeWebWorkloadAsync(cp, "v2");

        var push = await session.ReceiveAsync();
        Assert.Equal(TypeUrls.Address, push.TypeUrl);
        Assert.NotEqual(addresses.Version, push.Version);
        Assert.NotEqual(addresses.Nonce, push.Nonce);
        // State of the world: every address again, the changed one updated, the others byte-identical.
        Assert.Equal(addresses.Names, push.Names);
        Assert.Equal("v2", push.Get<WorkloadAddress>(WebUid).Workload.CanonicalRevision);
        Assert.All(addresses.Names.Where(n => n != WebUid), n => Assert.Equal(addresses.Resources[n].Value, push.Resources[n].Value));
        await session.ExpectNoResponseAsync(because: "clusters did not change");
    }

    [Fact]
    public async Task DeltaConfigChange_AfterAck_PushesOnlyTheChangedResource()
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        await using var session = AdsSession.Open(cp, AdsSession.Delta);
        await session.SubscribeAsync(TypeUrls.Address);
        var addresses = await session.ReceiveAsync();
        Assert.Equal(6, addresses.Resources.Count);
        await session.AckAsync(addresses);
        await session.SubscribeAsync(TypeUrls.Cluster);
        await session.AckAsync(await session.ReceiveAsync());

        await ChangeWebWorkloadAsync(cp, "v2");

        var push = await session.ReceiveAsync();
        Assert.Equal(TypeUrls.Address, push.TypeUrl);
        Assert.Equal([WebUid], push.Names);
        Assert.Empty(push.Removed);
        Assert.Equal("v2", push.Get<WorkloadAddress>(WebUid).Workload.CanonicalRevision);
        Assert.NotEqual(addresses.Version, push.Version);
        await session.ExpectNoResponseAsync(because: "clusters did not change");
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task Nack_Response_IsCountedAndNotRetriedUntilResourcesChange(string flavour)
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        await using var session = AdsSession.Open(cp, flavour);
        await session.SubscribeAsync(TypeUrls.Address);
        var rejected = await session.ReceiveAsync();

        await session.NackAsync(rejected);

        Assert.Equal(1, await cp.Metrics.WaitForCounterAsync("ambient_xds_nacks_total", NackLabels(flavour, TypeUrls.Address), 1));
        await session.ExpectNoResponseAsync(because: "a NACKed version must not be resent while nothing changed");
        Assert.Equal(1, cp.Metrics.Sum("ambient_xds_nacks_total"));

        await ChangeWebWorkloadAsync(cp, "v2");

        var next = await session.ReceiveAsync();
        Assert.Equal(TypeUrls.Address, next.TypeUrl);
        Assert.NotEqual(rejected.Version, next.Version);
        Assert.Equal("v2", next.Get<WorkloadAddress>(WebUid).Workload.CanonicalRevision);
        if (flavour == AdsSession.Delta)
            Assert.Equal([WebUid], next.Names);
        else
            Assert.Equal(rejected.Names, next.Names);
    }

    [Fact]
    public async Task SotwStaleNonce_RequestAndNack_AreIgnored()
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        await using var client = SotwAdsClient.Connect(cp);
        string[] one = [ListenerName(80)];
        string[] both = [ListenerName(80), ListenerName(9090)];

        await client.RequestAsync(TypeUrls.RouteConfiguration, one);
        var r1 = await client.ReceiveAsync();
        Assert.Single(r1.Resources);
        await client.RequestAsync(TypeUrls.RouteConfiguration, both, r1.VersionInfo, r1.Nonce);
        var r2 = await client.ReceiveAsync();
        Assert.Equal(2, r2.Resources.Count);
        Assert.NotEqual(r1.Nonce, r2.Nonce);

        // Both answer r1, which r2 superseded: a conforming server drops them.
        await client.RequestAsync(TypeUrls.RouteConfiguration, one, r1.VersionInfo, r1.Nonce);
        await client.ExpectNoResponseAsync(because: "a request with a stale nonce must not change the subscription");
        await client.RequestAsync(TypeUrls.RouteConfiguration, both, r1.VersionInfo, r1.Nonce, error: "stale rejection");

        // The current nonce is still honoured, and the subscription is still "both" (so "one" is a change).
        await client.RequestAsync(TypeUrls.RouteConfiguration, one, r2.VersionInfo, r2.Nonce);
        var r3 = await client.ReceiveAsync();
        Assert.Equal([ListenerName(80)], AdsSession.View(r3).Names);
        Assert.Equal(0, cp.Metrics.Get("ambient_xds_nacks_total", NackLabels(AdsSession.Sotw, TypeUrls.RouteConfiguration)));
    }
}
