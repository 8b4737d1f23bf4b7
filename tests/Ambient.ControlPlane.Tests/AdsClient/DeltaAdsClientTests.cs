using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Tests.Enrollment;
using Ambient.ControlPlane.Tests.Testing;
using Ambient.Xds;
using Ambient.Xds.Client;
using DeltaAdsClient = Ambient.Xds.Client.DeltaAdsClient;
using Ambient.Xds.Protos.Discovery;
using Ambient.Xds.Protos.Enrollment;
using Ambient.Xds.Protos.Workload;
using Google.Protobuf.WellKnownTypes;
using AuthorizationProto = Ambient.Xds.Protos.Security.Authorization;

namespace Ambient.ControlPlane.Tests.AdsClient;

/// <summary>
/// <see cref="DeltaAdsClient"/> against the real control plane over a Unix socket (and once over TCP): sync, updates,
/// removals, reconnect after a server restart honouring initial versions, NACKs keeping the last good state.
/// </summary>
public sealed class DeltaAdsClientTests
{
    private static readonly Dictionary<string, string> App = Manifests.Labels(("app", "echo"));

    private static string Uid(string pod) => $"Kubernetes//Pod/shop/{pod}";

    private static void Seed(TempDir tmp, string dir)
    {
        tmp.Write($"{dir}/ns.yaml", Manifests.Docs(Manifests.Namespace("shop", "ambient"),
            Manifests.Service("shop", "echo", "10.96.0.20", App)));
        tmp.Write($"{dir}/a.yaml", Manifests.Pod("shop", "a", "10.244.1.1", labels: App));
        tmp.Write($"{dir}/b.yaml", Manifests.Pod("shop", "b", "10.244.1.2", labels: App));
        tmp.Write($"{dir}/policy.yaml", """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata:
              name: allow-echo
              namespace: shop
            spec:
              selector:
                matchLabels:
                  app: echo
              action: ALLOW
              rules:
              - from:
                - source:
                    namespaces: ["shop"]
            """);
    }

    private static (DeltaAdsClient Client, UpdateCollector<Address> Addresses, UpdateCollector<AuthorizationProto> Policies, UpdateCollector<PodEnrollment> Enrollments)
        SubscribeAll(DeltaAdsClient client)
    {
        var a = new UpdateCollector<Address>();
        var p = new UpdateCollector<AuthorizationProto>();
        var e = new UpdateCollector<PodEnrollment>();
        client.Subscribe<Address>(TypeUrls.Address, a.Handle)
            .Subscribe<AuthorizationProto>(TypeUrls.Authorization, p.Handle)
            .Subscribe<PodEnrollment>(TypeUrls.PodEnrollment, e.Handle);
        return (client, a, p, e);
    }

    [Fact]
    public async Task DeltaAdsClient_WildcardTypesOverUnixSocket_SyncsWithEveryResourceOfEachType()
    {
        using var tmp = new TempDir();
        Seed(tmp, "config");
        await using var cp = await SocketControlPlane.StartAsync(tmp.File("xds.sock"), tmp.Sub("config"));
        var (client, addresses, policies, enrollments) = SubscribeAll(cp.CreateClient());
        await using var run = new ClientRun(client);

        await run.WaitSyncedAsync();

        var snapshot = cp.Cache.Current;
        Assert.Equal(snapshot.Get(TypeUrls.Address).Items.Keys.Order(StringComparer.Ordinal), addresses.Names);
        Assert.Equal(snapshot.Get(TypeUrls.Authorization).Items.Keys.Order(StringComparer.Ordinal), policies.Names);
        Assert.Equal(["shop/a", "shop/b"], enrollments.Names);
        Assert.Contains(Uid("a"), addresses.Names);
        Assert.Contains("shop/echo.shop.svc.cluster.local", addresses.Names);
        Assert.True(client.IsConnected);
        Assert.Equal(0, client.Counters.Nacks);
        Assert.True(client.Counters.Acks >= 3, $"acks: {client.Counters.Acks}");
        // What the client remembers is what the server holds, version for version.
        Assert.Equal(snapshot.Get(TypeUrls.Address).Items.ToDictionary(kv => kv.Key, kv => kv.Value.Version),
            client.ResourceVersions(TypeUrls.Address));
    }

    [Fact]
    public async Task DeltaAdsClient_TcpAddress_SyncsAgainstTheControlPlane()
    {
        await using var cp = await TestControlPlane.StartAsync(BookinfoLite.Files());
        var (client, addresses, _, enrollments) = SubscribeAll(new DeltaAdsClient(new DeltaAdsClientOptions
        {
            Address = $"{cp.Address.Host}:{cp.Address.Port}",
            NodeId = "test",
        }));
        await using var run = new ClientRun(client);

        await run.WaitSyncedAsync();

        Assert.Contains(BookinfoLite.EchoV1Uid, addresses.Names);
        Assert.Contains($"{BookinfoLite.Shop}/{BookinfoLite.EchoV1}", enrollments.Names);
    }

    [Fact]
    public async Task DeltaAdsClient_PodAddedThenDeleted_HandlerGetsOnlyThatChangeEachTime()
    {
        using var tmp = new TempDir();
        Seed(tmp, "config");
        await using var cp = await SocketControlPlane.StartAsync(tmp.File("xds.sock"), tmp.Sub("config"));
        var (client, addresses, _, enrollments) = SubscribeAll(cp.CreateClient());
        await using var run = new ClientRun(client);
        await run.WaitSyncedAsync();
        addresses.DrainUpdates();
        enrollments.DrainUpdates();

        await cp.WriteFileAndWaitAsync("c.yaml", Manifests.Pod("shop", "c", "10.244.1.3", labels: App));
        var added = await addresses.NextAsync();
        var enrolled = await enrollments.NextAsync();

        Assert.Equal([Uid("c")], added.Updated.Select(r => r.Name));
        Assert.Empty(added.Removed);
        Assert.Equal("10.244.1.3", new System.Net.IPAddress(added.Updated[0].Resource.Workload.Addresses[0].Span).ToString());
        Assert.Equal(["shop/c"], enrolled.Updated.Select(r => r.Name));
        Assert.True(enrolled.Updated[0].Resource.Enrolled);

        await cp.DeleteFileAndWaitAsync("c.yaml");
        var removed = await addresses.NextAsync();

        Assert.Empty(removed.Updated);
        Assert.Equal([Uid("c")], removed.Removed);
        Assert.DoesNotContain(Uid("c"), client.ResourceVersions(TypeUrls.Address).Keys);
        await enrollments.WaitForAsync(s => !s.ContainsKey("shop/c"), "without shop/c");
    }

    [Fact]
    public async Task DeltaAdsClient_ServerRestartedAfterChanges_ReconnectsAndReceivesOnlyTheChanges()
    {
        using var tmp = new TempDir();
        Seed(tmp, "config");
        await using var cp = await SocketControlPlane.StartAsync(tmp.File("xds.sock"), tmp.Sub("config"));
        var (client, addresses, policies, enrollments) = SubscribeAll(cp.CreateClient());
        await using var run = new ClientRun(client);
        await run.WaitSyncedAsync();
        addresses.DrainUpdates();
        policies.DrainUpdates();
        var reconnectsBefore = client.Counters.Reconnects;

        await cp.StopAsync();
        await Eventually.TrueAsync(() => !client.IsConnected, "the client to notice the server is gone");
        File.Delete(Path.Combine(cp.ConfigDir, "b.yaml"));
        File.WriteAllText(Path.Combine(cp.ConfigDir, "c.yaml"), Manifests.Pod("shop", "c", "10.244.1.3", labels: App));
        await cp.RestartAsync();

        // The first response of the new stream carries the difference only: the client told the new server, through
        // initial_resource_versions, what it already holds (versions are content hashes, stable across restarts).
        var first = await addresses.NextAsync();
        Assert.True(first.FirstOnStream);
        Assert.Equal([Uid("c")], first.Updated.Select(r => r.Name));
        Assert.Equal([Uid("b")], first.Removed);
        var unchanged = await policies.NextAsync();
        Assert.True(unchanged.FirstOnStream);
        Assert.Empty(unchanged.Updated);
        Assert.Empty(unchanged.Removed);
        await enrollments.WaitForAsync(s => s.ContainsKey("shop/c") && !s.ContainsKey("shop/b"), "shop/a and shop/c");
        Assert.True(client.Counters.Reconnects > reconnectsBefore);
        Assert.Equal(0, client.Counters.Nacks);
    }

    [Fact]
    public async Task DeltaAdsClient_HandlerRejectsUpdate_NacksAndKeepsLastGoodVersions()
    {
        using var tmp = new TempDir();
        Seed(tmp, "config");
        await using var cp = await SocketControlPlane.StartAsync(tmp.File("xds.sock"), tmp.Sub("config"));
        var (client, addresses, _, _) = SubscribeAll(cp.CreateClient());
        await using var run = new ClientRun(client);
        await run.WaitSyncedAsync();
        var good = client.ResourceVersions(TypeUrls.Address);
        addresses.Reject = u => u.Updated.Any(r => r.Resource.Workload?.Name == "bad") ? "workload 'bad' is not acceptable" : null;

        await cp.WriteFileAndWaitAsync("bad.yaml", Manifests.Pod("shop", "bad", "10.244.1.9", labels: App));
        await Eventually.TrueAsync(() => client.Counters.Nacks == 1, "the client to NACK");
        await cp.Metrics.WaitForCounterAsync("ambient_xds_nacks_total",
            $"{ControlPlaneMetrics.Label("flavour", "delta")},{ControlPlaneMetrics.Label("type_url", TypeUrls.Address)}", 1);

        Assert.DoesNotContain(Uid("bad"), addresses.Names);
        Assert.Equal(good, client.ResourceVersions(TypeUrls.Address));

        // Later good updates are still accepted; after a reconnect the rejected resource is offered again, because
        // the client never claimed to hold it.
        addresses.Reject = null;
        await cp.WriteFileAndWaitAsync("c.yaml", Manifests.Pod("shop", "c", "10.244.1.3", labels: App));
        await addresses.WaitForAsync(s => s.ContainsKey(Uid("c")), "with shop/c");
        Assert.DoesNotContain(Uid("bad"), addresses.Names);
        await cp.StopAsync();
        await cp.RestartAsync();
        await addresses.WaitForAsync(s => s.ContainsKey(Uid("bad")), "with shop/bad after the reconnect");
        Assert.Equal(1, client.Counters.Nacks);
    }

    [Fact]
    public async Task DeltaAdsClient_NamedSubscription_GetsOnlyNamedResourcesAndFollowsChanges()
    {
        using var tmp = new TempDir();
        Seed(tmp, "config");
        await using var cp = await SocketControlPlane.StartAsync(tmp.File("xds.sock"), tmp.Sub("config"));
        var enrollments = new UpdateCollector<PodEnrollment>();
        var addresses = new UpdateCollector<Address>();
        var client = cp.CreateClient()
            .Subscribe<PodEnrollment>(TypeUrls.PodEnrollment, enrollments.Handle, ["shop/a", "shop/missing"])
            .Subscribe<Address>(TypeUrls.Address, addresses.Handle, []);
        await using var run = new ClientRun(client);

        await run.WaitSyncedAsync();
        Assert.Equal(["shop/a"], enrollments.Names);
        Assert.Empty(addresses.Names); // subscribed to nothing yet: not a legacy wildcard

        await client.UpdateSubscriptionAsync(TypeUrls.PodEnrollment, ["shop/b"], ["shop/a"]);
        await enrollments.WaitForAsync(s => s.Count == 1 && s.ContainsKey("shop/b"), "just shop/b");
        await client.UpdateSubscriptionAsync(TypeUrls.Address, [Uid("a")], []);
        await addresses.WaitForAsync(s => s.Count == 1 && s.ContainsKey(Uid("a")), "just shop/a's workload");

        // A reconnect resubscribes to the current names only.
        await cp.StopAsync();
        await cp.RestartAsync();
        await cp.WriteFileAndWaitAsync("c.yaml", Manifests.Pod("shop", "c", "10.244.1.3", labels: App));
        await cp.WriteFileAndWaitAsync("b.yaml", Manifests.Pod("shop", "b", "10.244.1.22", labels: App));
        await enrollments.WaitForAsync(s => s.TryGetValue("shop/b", out var b) && b.Addresses.Count == 1 && b.Addresses[0][3] == 22,
            "shop/b with its new address");
        Assert.Equal(["shop/b"], enrollments.Names);
    }

    [Fact]
    public async Task DeltaAdsClient_ServerNotListeningYet_RetriesUntilItIsThenSyncs()
    {
        using var tmp = new TempDir();
        Seed(tmp, "config");
        var socket = tmp.File("xds.sock");
        var enrollments = new UpdateCollector<PodEnrollment>();
        var client = new DeltaAdsClient(new DeltaAdsClientOptions { Address = socket, MaxBackoff = TimeSpan.FromMilliseconds(100) })
            .Subscribe<PodEnrollment>(TypeUrls.PodEnrollment, enrollments.Handle);
        await using var run = new ClientRun(client);

        await Eventually.TrueAsync(() => client.Counters.StreamFailures >= 3, "three failed attempts");
        Assert.False(client.Synced.IsCompleted);
        await using var cp = await SocketControlPlane.StartAsync(socket, tmp.Sub("config"));

        await run.WaitSyncedAsync();
        Assert.Equal(["shop/a", "shop/b"], enrollments.Names);
    }

    [Fact]
    public async Task ControlPlane_StoppingWithConnectedClient_EndsStreamsAtOnce()
    {
        using var tmp = new TempDir();
        Seed(tmp, "config");
        await using var cp = await SocketControlPlane.StartAsync(tmp.File("xds.sock"), tmp.Sub("config"));
        var (client, _, _, _) = SubscribeAll(cp.CreateClient());
        await using var run = new ClientRun(client);
        await run.WaitSyncedAsync();

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await cp.StopAsync();

        // Streams end when the host starts stopping, not when the shutdown timeout (30 s) aborts them.
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {stopping.Elapsed}");
        await Eventually.TrueAsync(() => !client.IsConnected, "the client to see its stream end");
    }

    [Fact]
    public async Task DeltaAdsClient_Cancelled_RunAsyncCompletesAndDisconnects()
    {
        using var tmp = new TempDir();
        Seed(tmp, "config");
        await using var cp = await SocketControlPlane.StartAsync(tmp.File("xds.sock"), tmp.Sub("config"));
        var (client, _, _, _) = SubscribeAll(cp.CreateClient());
        var run = new ClientRun(client);
        await run.WaitSyncedAsync();

        await run.StopAsync(); // bounded: fails the test if RunAsync does not return

        Assert.True(run.Task.IsCompletedSuccessfully);
        Assert.False(client.IsConnected);
        await run.DisposeAsync();
    }

    [Fact]
    public async Task DeltaAdsClient_Reconnect_SendsNodeAndHeldVersionsAsInitialResourceVersions()
    {
        using var tmp = new TempDir();
        var resource = new Resource
        {
            Name = "shop/a",
            Version = "v1",
            Resource_ = Any.Pack(new PodEnrollment { Name = "a", Namespace = "shop", Enrolled = true }),
        };
        await using var server = await ScriptedAdsServer.StartAsync(tmp.File("ads.sock"), (stream, request) =>
            stream == 0 && request.ResponseNonce.Length == 0
                ? new([new DeltaDiscoveryResponse { TypeUrl = TypeUrls.PodEnrollment, Nonce = "n1", Resources = { resource } }])
                : new([], EndStream: stream == 0)); // after the ACK, end the first stream: the client must reconnect
        var enrollments = new UpdateCollector<PodEnrollment>();
        var client = new DeltaAdsClient(new DeltaAdsClientOptions
        {
            Address = "unix:" + server.SocketPath,
            NodeId = "ztunnel~10.0.0.1~agent-x.ambient~ambient.svc.cluster.local",
            NodeMetadata = new Dictionary<string, string> { ["NODE_NAME"] = "node-a" },
        }).Subscribe<PodEnrollment>(TypeUrls.PodEnrollment, enrollments.Handle);
        await using var run = new ClientRun(client);

        var (s0, initial) = await server.NextRequestAsync();
        Assert.Equal(0, s0);
        Assert.Equal("ztunnel~10.0.0.1~agent-x.ambient~ambient.svc.cluster.local", initial.Node.Id);
        Assert.Equal("node-a", initial.Node.Metadata.Fields["NODE_NAME"].StringValue);
        Assert.Equal(["*"], initial.ResourceNamesSubscribe);
        Assert.Empty(initial.InitialResourceVersions);
        var (_, ack) = await server.NextRequestAsync();
        Assert.Equal("n1", ack.ResponseNonce);
        Assert.Null(ack.ErrorDetail);

        var (s1, again) = await server.NextRequestAsync();
        Assert.Equal(1, s1);
        Assert.Equal("ztunnel~10.0.0.1~agent-x.ambient~ambient.svc.cluster.local", again.Node.Id);
        Assert.Equal(new Dictionary<string, string> { ["shop/a"] = "v1" }, again.InitialResourceVersions);
        Assert.Equal(["shop/a"], enrollments.Names);
    }

    [Fact]
    public async Task DeltaAdsClient_ResourceOfAnotherType_NackedWithErrorDetail()
    {
        using var tmp = new TempDir();
        var wrong = new Resource { Name = "shop/a", Version = "v1", Resource_ = Any.Pack(new Address { Workload = new Workload { Uid = "x" } }) };
        await using var server = await ScriptedAdsServer.StartAsync(tmp.File("ads.sock"), (stream, request) =>
            request.ResponseNonce.Length == 0
                ? new([new DeltaDiscoveryResponse { TypeUrl = TypeUrls.PodEnrollment, Nonce = "n1", Resources = { wrong } }])
                : new([]));
        var enrollments = new UpdateCollector<PodEnrollment>();
        var client = new DeltaAdsClient(new DeltaAdsClientOptions { Address = server.SocketPath })
            .Subscribe<PodEnrollment>(TypeUrls.PodEnrollment, enrollments.Handle);
        await using var run = new ClientRun(client);

        await server.NextRequestAsync();
        var (_, nack) = await server.NextRequestAsync();

        Assert.Equal("n1", nack.ResponseNonce);
        Assert.NotNull(nack.ErrorDetail);
        Assert.Equal((int)Grpc.Core.StatusCode.InvalidArgument, nack.ErrorDetail.Code);
        Assert.Contains("istio.workload.Address", nack.ErrorDetail.Message);
        Assert.Empty(enrollments.Names);
        Assert.Empty(client.ResourceVersions(TypeUrls.PodEnrollment));
        Assert.Equal(1, client.Counters.Nacks);
        await run.WaitSyncedAsync(); // a rejected first response still counts as the type's first response
    }

    [Fact]
    public void DeltaAdsClient_Backoff_DoublesFrom10MsAndCapsAt15sWithJitter()
    {
        using var client = new DeltaAdsClient(new DeltaAdsClientOptions { Address = "127.0.0.1:15010" });
        for (var i = 0; i < 50; i++)
        {
            Assert.InRange(client.Backoff(0).TotalMilliseconds, 8, 12);
            Assert.InRange(client.Backoff(1).TotalMilliseconds, 16, 24);
            Assert.InRange(client.Backoff(5).TotalMilliseconds, 256, 384);
            Assert.InRange(client.Backoff(40).TotalMilliseconds, 12_000, 15_000);
        }
        var samples = Enumerable.Range(0, 50).Select(_ => client.Backoff(3).TotalMilliseconds).Distinct().Count();
        Assert.True(samples > 1, "delays must be jittered");
    }

    [Theory]
    [InlineData("127.0.0.1:15010", "http://127.0.0.1:15010/", null)]
    [InlineData("http://cp.example:15010", "http://cp.example:15010/", null)]
    [InlineData("unix:///run/ambient/xds.sock", "http://localhost/", "/run/ambient/xds.sock")]
    [InlineData("unix:/run/ambient/xds.sock", "http://localhost/", "/run/ambient/xds.sock")]
    [InlineData("/run/ambient/xds.sock", "http://localhost/", "/run/ambient/xds.sock")]
    public void DeltaAdsClient_ParseAddress_TcpAndUnixSocketForms(string address, string uri, string? socket)
    {
        var (u, s) = DeltaAdsClient.ParseAddress(address);

        Assert.Equal(uri, u.ToString());
        Assert.Equal(socket, s);
    }

    [Theory]
    [InlineData("unix:")]
    [InlineData("ftp://cp:21")]
    public void DeltaAdsClient_ParseAddress_InvalidForms_Rejected(string address) =>
        Assert.Throws<ArgumentException>(() => DeltaAdsClient.ParseAddress(address));
}
