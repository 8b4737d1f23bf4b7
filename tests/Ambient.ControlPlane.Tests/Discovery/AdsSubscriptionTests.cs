using Ambient.ControlPlane.Tests.Testing;
using Ambient.Xds;
using Ambient.Xds.Protos.Endpoint;
using static Ambient.ControlPlane.Tests.Testing.BookinfoLite;

namespace Ambient.ControlPlane.Tests.Discovery;

/// <summary>Subscription changes and deletions: removed_resources in Delta, absence in SotW.</summary>
public sealed class AdsSubscriptionTests
{
    public static TheoryData<string> Flavours => [AdsSession.Sotw, AdsSession.Delta];

    private const string Missing = "outbound|1234||nope.shop.svc.cluster.local";

    private const string NopeService = """
        apiVersion: v1
        kind: Service
        metadata:
          name: nope
          namespace: shop
        spec:
          selector:
            app: echo
          clusterIP: 10.96.0.99
          ports:
          - name: tcp
            port: 1234
            targetPort: 9090

        """;

    [Fact]
    public async Task DeltaUnsubscribe_HeldName_YieldsRemovedResourcesAndNoLaterPushes()
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        await using var client = DeltaAdsClient.Connect(cp);
        await client.RequestAsync(TypeUrls.ClusterLoadAssignment, subscribe: [ClusterName(80), ClusterName(9090)]);
        var r1 = AdsSession.View(await client.ReceiveAsync());
        Assert.Equal([ClusterName(80), ClusterName(9090)], r1.Names);
        await client.RequestAsync(TypeUrls.ClusterLoadAssignment, nonce: r1.Nonce);

        await client.RequestAsync(TypeUrls.ClusterLoadAssignment, unsubscribe: [ClusterName(80)]);

        var r2 = AdsSession.View(await client.ReceiveAsync());
        Assert.Empty(r2.Resources);
        Assert.Equal([ClusterName(80)], r2.Removed);
        await client.RequestAsync(TypeUrls.ClusterLoadAssignment, nonce: r2.Nonce);

        // echo-v2 turning unready changes both load assignments; only the one still subscribed is pushed.
        await cp.WriteFileAndWaitAsync("echo.yaml", Echo(v2Ready: false));
        var r3 = AdsSession.View(await client.ReceiveAsync());
        Assert.Equal([ClusterName(9090)], r3.Names);
        Assert.Empty(r3.Removed);
        await client.ExpectNoResponseAsync(because: "the unsubscribed load assignment must not be pushed");
    }

    [Fact]
    public async Task DeltaSubscribe_NonexistentName_YieldsRemovedResourcesThenPushOnceCreated()
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        await using var client = DeltaAdsClient.Connect(cp);
        await client.RequestAsync(TypeUrls.ClusterLoadAssignment, subscribe: [ClusterName(80)]);
        var r1 = AdsSession.View(await client.ReceiveAsync());
        Assert.Equal([ClusterName(80)], r1.Names);
        await client.RequestAsync(TypeUrls.ClusterLoadAssignment, nonce: r1.Nonce);

        await client.RequestAsync(TypeUrls.ClusterLoadAssignment, subscribe: [Missing]);

        var r2 = AdsSession.View(await client.ReceiveAsync());
        Assert.Empty(r2.Resources);
        Assert.Equal([Missing], r2.Removed);
        await client.RequestAsync(TypeUrls.ClusterLoadAssignment, nonce: r2.Nonce);

        await cp.WriteFileAndWaitAsync("nope.yaml", NopeService);
        var r3 = AdsSession.View(await client.ReceiveAsync());
        Assert.Equal([Missing], r3.Names);
        Assert.Empty(r3.Removed);
        Assert.Equal(2, r3.Get<ClusterLoadAssignment>(Missing).Endpoints.Single().LbEndpoints.Count);
    }

    [Fact]
    public async Task DeltaFirstRequest_NonexistentName_YieldsRemovedResourcesOnly()
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        await using var client = DeltaAdsClient.Connect(cp);

        await client.RequestAsync(TypeUrls.ClusterLoadAssignment, subscribe: [Missing]);

        var r = AdsSession.View(await client.ReceiveAsync());
        Assert.Empty(r.Resources);
        Assert.Equal([Missing], r.Removed);
    }

    [Fact]
    public async Task DeltaWildcard_ObjectDeleted_YieldsRemovedResources()
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        await using var client = DeltaAdsClient.Connect(cp);
        await client.RequestAsync(TypeUrls.Address);
        var r1 = AdsSession.View(await client.ReceiveAsync());
        Assert.Contains(BatchUid, r1.Names);
        await client.RequestAsync(TypeUrls.Address, nonce: r1.Nonce);

        await cp.WriteFileAndWaitAsync("web.yaml", Web(withBatch: false));

        var r2 = AdsSession.View(await client.ReceiveAsync());
        Assert.Empty(r2.Resources);
        Assert.Equal([BatchUid], r2.Removed);
        await client.RequestAsync(TypeUrls.Address, nonce: r2.Nonce);

        await cp.DeleteFileAndWaitAsync("web.yaml");

        var r3 = AdsSession.View(await client.ReceiveAsync());
        Assert.Empty(r3.Resources);
        Assert.Equal([OldClientUid, WebUid], r3.Removed.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task SotwWildcard_ObjectDeleted_ResourceAbsentFromNextResponse()
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        await using var client = SotwAdsClient.Connect(cp);
        await client.RequestAsync(TypeUrls.Address);
        var r1 = AdsSession.View(await client.ReceiveAsync());
        Assert.Contains(BatchUid, r1.Names);
        await client.RequestAsync(TypeUrls.Address, version: r1.Version, nonce: r1.Nonce);

        await cp.WriteFileAndWaitAsync("web.yaml", Web(withBatch: false));

        var r2 = AdsSession.View(await client.ReceiveAsync());
        Assert.Equal(r1.Names.Where(n => n != BatchUid), r2.Names);
        Assert.NotEqual(r1.Version, r2.Version);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task NamedLoadAssignment_ServiceDeleted_ResourceWithdrawn(string flavour)
    {
        await using var cp = await TestControlPlane.StartAsync(Files());
        await using var session = AdsSession.Open(cp, flavour);
        await session.SubscribeAsync(TypeUrls.ClusterLoadAssignment, ClusterName(80));
        var r1 = await session.ReceiveAsync();
        Assert.Equal([ClusterName(80)], r1.Names);
        await session.AckAsync(r1);

        await cp.WriteFileAndWaitAsync("echo.yaml", Echo(withService: false));

        var r2 = await session.ReceiveAsync();
        Assert.Equal(TypeUrls.ClusterLoadAssignment, r2.TypeUrl);
        Assert.Empty(r2.Resources);
        if (flavour == AdsSession.Delta)
            Assert.Equal([ClusterName(80)], r2.Removed);
        await session.AckAsync(r2);
        await session.ExpectNoResponseAsync(because: "the withdrawal was acknowledged");
    }
}
