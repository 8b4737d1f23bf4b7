using System.Diagnostics;
using System.Net;
using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Ambient.ControlPlane.Sources.Kubernetes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Paths = Ambient.ControlPlane.Tests.Kubernetes.FakeKubeApiServer.Paths;

namespace Ambient.ControlPlane.Tests.Kubernetes;

public sealed class KubernetesSourceTests
{
    private static string[] PodNames(ClusterState s) => [.. s.Pods.Select(p => p.Meta.Name).Order(StringComparer.Ordinal)];

    private static string PodLabel => ControlPlaneMetrics.Label("kind", "Pod");

    [Fact]
    public async Task InitialList_EveryKind_PopulatesStoreAndMarksSynced()
    {
        await using var h = await SourceHarness.StartAsync(s =>
        {
            s.Apply(Paths.Namespaces, KubeObjects.Namespace("shop", [("istio.io/dataplane-mode", "ambient")]));
            s.Apply(Paths.Pods, KubeObjects.Pod("shop", "web-1", "10.0.0.5", serviceAccount: "web", labels: [("app", "web")]));
            s.Apply(Paths.Services, KubeObjects.Service("shop", "web", 80, selector: [("app", "web")]));
            s.Apply(Paths.ServiceAccounts, KubeObjects.ServiceAccount("shop", "web"));
            s.Apply(Paths.AuthorizationPolicies, KubeObjects.AuthorizationPolicy("shop", "allow-web", "ALLOW", [("app", "web")]));
            s.Apply(Paths.PeerAuthentications, KubeObjects.PeerAuthentication("istio-system", "default", "STRICT"));
        });

        Assert.True(h.Store.AllSourcesSynced);
        var state = h.State;
        Assert.Equal("ambient", state.Namespaces["shop"].Meta.Label("istio.io/dataplane-mode"));
        var pod = Assert.Single(state.Pods);
        Assert.Equal(("shop", "web-1", "web", true), (pod.Meta.Namespace, pod.Meta.Name, pod.ServiceAccount, pod.Ready));
        Assert.Equal(IPAddress.Parse("10.0.0.5"), Assert.Single(pod.PodIPs));
        var svc = Assert.Single(state.Services);
        Assert.Equal((80, 8080), (svc.Ports[0].Port, svc.Ports[0].TargetPort.Number));
        Assert.Equal("web", Assert.Single(state.ServiceAccounts).Meta.Name);
        Assert.Equal(AuthorizationAction.Allow, Assert.Single(state.AuthorizationPolicies).Action);
        Assert.Equal(MutualTlsMode.Strict, Assert.Single(state.PeerAuthentications).Mode);
        Assert.Equal(["k8s:Pod"], h.Store.OriginsOf(pod.Key));
        Assert.All(KubernetesResource.All, r => Assert.Single(h.Server.Lists("/" + r.Path)));
    }

    [Fact]
    public async Task InitialList_OneKindFailing_NotSyncedUntilItLists()
    {
        await using var h = await SourceHarness.StartAsync(s =>
        {
            s.Apply(Paths.Namespaces, KubeObjects.Namespace("shop"));
            s.Apply(Paths.Pods, KubeObjects.Pod("shop", "web-1", "10.0.0.5"));
            s.Fail(Paths.Pods, lists: int.MaxValue, watches: 0);
        }, waitForSync: false);

        await Eventually.TrueAsync(() => h.Server.Lists(Paths.Pods).Count >= 3, "the failing pod LIST is retried");
        await h.WaitForStateAsync(s => s.Namespaces.ContainsKey("shop"), "the other kinds load meanwhile");
        Assert.False(h.Store.AllSourcesSynced);
        Assert.False(h.Source.Synced.IsCompleted);

        h.Server.Fail(Paths.Pods, lists: 0, watches: 0);
        await h.Source.Synced.WaitAsync(Eventually.DefaultTimeout);
        Assert.True(h.Store.AllSourcesSynced);
        Assert.Equal(["web-1"], PodNames(h.State));
        Assert.True(h.Metrics.Get("ambient_kubernetes_list_failures_total", PodLabel) >= 2);
    }

    [Fact]
    public async Task InitialList_ServerPagesResults_LoadsEveryPage()
    {
        await using var h = await SourceHarness.StartAsync(s =>
        {
            s.MaxPageSize = 2;
            for (var i = 1; i <= 5; i++)
                s.Apply(Paths.Pods, KubeObjects.Pod("shop", $"web-{i}", $"10.0.0.{i}"));
        });

        Assert.Equal(["web-1", "web-2", "web-3", "web-4", "web-5"], PodNames(h.State));
        var lists = h.Server.Lists(Paths.Pods);
        Assert.Equal(3, lists.Count);
        Assert.Equal(2, lists.Count(r => r.Query.ContainsKey("continue")));
    }

    [Fact]
    public async Task WatchEvents_AddedModifiedDeleted_AppliedToStore()
    {
        await using var h = await SourceHarness.StartAsync();
        await h.WaitForOpenWatchAsync(Paths.Pods);

        h.Server.Apply(Paths.Pods, KubeObjects.Pod("shop", "web-1", "10.0.0.5"));
        await h.WaitForStateAsync(s => s.Pods is [{ Ready: true }], "ADDED pod applied");

        h.Server.Apply(Paths.Pods, KubeObjects.Pod("shop", "web-1", "10.0.0.5", ready: false));
        await h.WaitForStateAsync(s => s.Pods is [{ Ready: false }], "MODIFIED pod applied");

        h.Server.Delete(Paths.Pods, "shop", "web-1");
        await h.WaitForStateAsync(s => s.Pods.IsEmpty, "DELETED pod applied");

        Assert.Single(h.Server.Lists(Paths.Pods)); // all through the one watch: no relist
        await Eventually.TrueAsync(() => h.Source.ResourceVersions["Pod"] == h.Server.CurrentResourceVersion,
            "the resourceVersion follows the events");
    }

    [Fact]
    public async Task Bookmark_ThenWatchClosed_NextWatchStartsAtBookmarkVersion()
    {
        await using var h = await SourceHarness.StartAsync();
        await h.WaitForOpenWatchAsync(Paths.Pods);
        var first = Assert.Single(h.Server.Watches(Paths.Pods));
        Assert.Equal("true", first.Query.GetValueOrDefault("allowWatchBookmarks"));
        Assert.Equal(h.Server.CurrentResourceVersion, first.ResourceVersion); // watches from the LIST's version

        h.Server.AdvanceResourceVersion(50); // other kinds changed meanwhile
        var bookmark = h.Server.SendBookmark(Paths.Pods);
        Assert.NotEqual(first.ResourceVersion, bookmark);
        await Eventually.TrueAsync(() => h.Source.ResourceVersions["Pod"] == bookmark, "the bookmark's version is remembered");

        h.Server.DropWatches(Paths.Pods, abort: false);
        await Eventually.TrueAsync(() => h.Server.Watches(Paths.Pods).Count == 2, "the watch is reopened");
        Assert.Equal(bookmark, h.Server.Watches(Paths.Pods)[1].ResourceVersion);
        Assert.Single(h.Server.Lists(Paths.Pods));
    }

    [Theory]
    [InlineData(GoneMode.HttpStatus)]
    [InlineData(GoneMode.ErrorEvent)]
    public async Task WatchReconnect_VersionCompacted_RelistReplacesState(GoneMode mode)
    {
        await using var h = await SourceHarness.StartAsync(s =>
        {
            s.Apply(Paths.Pods, KubeObjects.Pod("shop", "a", "10.0.0.1"));
            s.Apply(Paths.Pods, KubeObjects.Pod("shop", "b", "10.0.0.2"));
        });
        await h.WaitForOpenWatchAsync(Paths.Pods);

        // While the client is disconnected b is deleted and c created, and the history is compacted past its version.
        h.Server.Delete(Paths.Pods, "shop", "b", notify: false);
        h.Server.Apply(Paths.Pods, KubeObjects.Pod("shop", "c", "10.0.0.3"), notify: false);
        h.Server.CompactHistory(Paths.Pods, mode);
        h.Server.DropWatches(Paths.Pods, abort: true);

        await h.WaitForStateAsync(s => PodNames(s).SequenceEqual(["a", "c"]), "the relist replaced the pods");
        Assert.Equal(2, h.Server.Lists(Paths.Pods).Count);
        Assert.True(h.Metrics.Get("ambient_kubernetes_relists_total", $"{PodLabel},{ControlPlaneMetrics.Label("reason", "gone")}") >= 1);
        await h.WaitForOpenWatchAsync(Paths.Pods);
        Assert.Equal(h.Server.CurrentResourceVersion, h.Server.Watches(Paths.Pods)[^1].ResourceVersion);
    }

    [Fact]
    public async Task WatchErrorEvent410_MidStream_RelistDropsMissedDeletion()
    {
        await using var h = await SourceHarness.StartAsync(s =>
        {
            s.Apply(Paths.Pods, KubeObjects.Pod("shop", "a", "10.0.0.1"));
            s.Apply(Paths.Pods, KubeObjects.Pod("shop", "b", "10.0.0.2"));
        });
        await h.WaitForOpenWatchAsync(Paths.Pods);

        h.Server.Delete(Paths.Pods, "shop", "b", notify: false);
        h.Server.SendError(Paths.Pods, 410, "Expired");

        await h.WaitForStateAsync(s => PodNames(s).SequenceEqual(["a"]), "the relist dropped the missed deletion");
        Assert.Equal(2, h.Server.Lists(Paths.Pods).Count);
    }

    [Fact]
    public async Task WatchConnectionAborted_ReconnectsFromLastVersionWithoutRelist()
    {
        await using var h = await SourceHarness.StartAsync(s => s.Apply(Paths.Pods, KubeObjects.Pod("shop", "a", "10.0.0.1")));
        await h.WaitForOpenWatchAsync(Paths.Pods);
        var version = h.Source.ResourceVersions["Pod"];

        h.Server.DropWatches(Paths.Pods, abort: true);
        h.Server.Apply(Paths.Pods, KubeObjects.Pod("shop", "b", "10.0.0.2")); // while disconnected (or just after)

        await h.WaitForStateAsync(s => PodNames(s).SequenceEqual(["a", "b"]), "the event is delivered after reconnecting");
        var watches = h.Server.Watches(Paths.Pods);
        Assert.True(watches.Count >= 2);
        Assert.Equal(version, watches[1].ResourceVersion);
        Assert.Single(h.Server.Lists(Paths.Pods));
    }

    [Fact]
    public async Task WatchRequestsFailing_RetriedWithGrowingBackoff()
    {
        await using var h = await SourceHarness.StartAsync();
        await h.WaitForOpenWatchAsync(Paths.Pods);

        h.Server.Fail(Paths.Pods, lists: 0, watches: 4);
        h.Server.DropWatches(Paths.Pods, abort: false);
        await Eventually.TrueAsync(() => h.Server.Watches(Paths.Pods).Count == 6 && h.Server.OpenWatches(Paths.Pods) == 1,
            "four failed watches, then one that holds");

        // Watch #2..#5 fail with 500; the delays after them are drawn from [100,200], [200,400], [400,800], [800,1600] ms.
        var at = h.Server.Watches(Paths.Pods).Select(r => r.At).ToArray();
        var afterFirstFailure = at[2] - at[1];
        var afterLastFailure = at[5] - at[4];
        Assert.True(afterFirstFailure >= TimeSpan.FromMilliseconds(90), $"retried after {afterFirstFailure.TotalMilliseconds} ms");
        Assert.True(afterLastFailure > 2 * afterFirstFailure,
            $"backoff did not grow: {afterFirstFailure.TotalMilliseconds} ms then {afterLastFailure.TotalMilliseconds} ms");
        Assert.Single(h.Server.Lists(Paths.Pods)); // a failing watch is retried, not relisted

        h.Server.Apply(Paths.Pods, KubeObjects.Pod("shop", "a", "10.0.0.1"));
        await h.WaitForStateAsync(s => s.Pods.Length == 1, "events flow again");
    }

    [Fact]
    public async Task InitialList_ServiceWithPortOutOfRange_SkippedAndOthersApplied()
    {
        await using var h = await SourceHarness.StartAsync(s =>
        {
            s.Apply(Paths.Services, KubeObjects.Service("shop", "bad", 99999));
            s.Apply(Paths.Services, KubeObjects.Service("shop", "good", 80, clusterIp: "10.96.0.11"));
            s.Apply(Paths.Pods, KubeObjects.Pod("shop", "web-1", "10.0.0.5"));
        });

        Assert.Equal("good", Assert.Single(h.State.Services).Meta.Name);
        Assert.Single(h.State.Pods);
        var logged = Assert.Single(h.Log.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains("shop/bad", logged.Message);
        Assert.Contains("99999", logged.Message);
        Assert.Contains("Service/shop/bad", h.Source.Rejected.Keys);
        Assert.Equal(1, h.Metrics.Get("ambient_config_errors_total", ControlPlaneMetrics.Label("source", "kubernetes")));
    }

    [Fact]
    public async Task ModifiedEvent_InvalidUpdate_KeepsLastGoodVersion()
    {
        await using var h = await SourceHarness.StartAsync(s => s.Apply(Paths.Services, KubeObjects.Service("shop", "web", 80)));
        await h.WaitForOpenWatchAsync(Paths.Services);

        h.Server.Apply(Paths.Services, KubeObjects.Service("shop", "web", 99999));
        h.Server.Apply(Paths.Services, KubeObjects.Service("shop", "marker", 81, clusterIp: "10.96.0.12"));
        await h.WaitForStateAsync(s => s.Services.Any(x => x.Meta.Name == "marker"), "the event after the invalid one applies");

        Assert.Equal(80, h.State.Services.Single(x => x.Meta.Name == "web").Ports[0].Port);
        Assert.Contains(h.Log.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("shop/web") && e.Message.Contains("99999"));

        h.Server.Apply(Paths.Services, KubeObjects.Service("shop", "web", 8080));
        await h.WaitForStateAsync(s => s.Services.Any(x => x.Meta.Name == "web" && x.Ports[0].Port == 8080), "a later valid version applies");
        Assert.Empty(h.Source.Rejected);
    }

    [Fact]
    public async Task Relist_ObjectNowInvalid_KeepsLastGoodVersion()
    {
        await using var h = await SourceHarness.StartAsync(s =>
        {
            s.Apply(Paths.Services, KubeObjects.Service("shop", "web", 80));
            s.Apply(Paths.Services, KubeObjects.Service("shop", "other", 81, clusterIp: "10.96.0.12"));
        });
        await h.WaitForOpenWatchAsync(Paths.Services);

        h.Server.Apply(Paths.Services, KubeObjects.Service("shop", "web", 99999), notify: false);
        h.Server.Delete(Paths.Services, "shop", "other", notify: false);
        h.Server.SendError(Paths.Services, 410, "Expired");
        await Eventually.TrueAsync(() => h.Server.Watches(Paths.Services).Count == 2 && h.Server.OpenWatches(Paths.Services) == 1,
            "relisted and watching again");

        var web = Assert.Single(h.State.Services); // "other" is gone, "web" keeps its last good version
        Assert.Equal(("web", 80), (web.Meta.Name, web.Ports[0].Port));
        Assert.Contains("Service/shop/web", h.Source.Rejected.Keys);
    }

    [Fact]
    public async Task AuthorizationPolicyAdded_ArrivesAsPolicy()
    {
        await using var h = await SourceHarness.StartAsync(s =>
            s.Apply(Paths.PeerAuthentications, KubeObjects.PeerAuthentication("istio-system", "default", "STRICT")));
        await h.WaitForOpenWatchAsync(Paths.AuthorizationPolicies);

        h.Server.Apply(Paths.AuthorizationPolicies, KubeObjects.AuthorizationPolicy("shop", "deny-web", "DENY", [("app", "web")]));
        await h.WaitForStateAsync(s => !s.AuthorizationPolicies.IsEmpty, "the policy arrives");

        var policy = Assert.Single(h.State.AuthorizationPolicies);
        Assert.Equal(("shop", "deny-web", AuthorizationAction.Deny), (policy.Meta.Namespace, policy.Meta.Name, policy.Action));
        Assert.Equal("web", policy.Selector!["app"]);
        var rule = Assert.Single(policy.Rules);
        Assert.Equal(["cluster.local/ns/default/sa/client"], Assert.Single(rule.From).Principals.ToArray());
        Assert.Equal([8080], Assert.Single(rule.To).Ports.ToArray());
        Assert.Equal(MutualTlsMode.Strict, Assert.Single(h.State.PeerAuthentications).Mode);
        Assert.Equal(["k8s:AuthorizationPolicy"], h.Store.OriginsOf(policy.Key));
    }

    [Fact]
    public async Task CustomResourceNotServed_SourceStillSyncsWithoutIt()
    {
        await using var h = await SourceHarness.StartAsync(s =>
        {
            s.SetServed(Paths.AuthorizationPolicies, false);
            s.Apply(Paths.Pods, KubeObjects.Pod("shop", "web-1", "10.0.0.5"));
        });

        Assert.True(h.Store.AllSourcesSynced);
        Assert.Single(h.State.Pods);
        Assert.Empty(h.State.AuthorizationPolicies);
        Assert.Contains(h.Log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("AuthorizationPolicy") && e.Message.Contains("not served"));
    }

    [Fact]
    public async Task Resync_ChangeMissedByWatch_HealedByPeriodicRelist()
    {
        await using var h = await SourceHarness.StartAsync(
            s => s.Apply(Paths.Pods, KubeObjects.Pod("shop", "web-1", "10.0.0.5")),
            o => o.Resync = TimeSpan.FromMilliseconds(300));
        await h.WaitForOpenWatchAsync(Paths.Pods);

        h.Server.Apply(Paths.Pods, KubeObjects.Pod("shop", "web-1", "10.0.0.5", ready: false), notify: false);

        await h.WaitForStateAsync(s => s.Pods is [{ Ready: false }], "the resync picked up the missed change", TimeSpan.FromSeconds(5));
        Assert.True(h.Server.Lists(Paths.Pods).Count >= 2);
    }

    [Fact]
    public async Task Resync_NothingChanged_StoreNotTouched()
    {
        await using var h = await SourceHarness.StartAsync(
            s => s.Apply(Paths.Pods, KubeObjects.Pod("shop", "web-1", "10.0.0.5")),
            o => o.Resync = TimeSpan.FromMilliseconds(100));
        var pod = Assert.Single(h.State.Pods);
        var generation = h.Store.Generation;

        await Eventually.TrueAsync(() => KubernetesResource.All.All(r => h.Server.Lists("/" + r.Path).Count >= 3), "every kind resynced twice");

        Assert.Equal(generation, h.Store.Generation);
        Assert.Same(pod, Assert.Single(h.State.Pods)); // same instance: the snapshot builder's caches keep hitting
    }

    [Fact]
    public async Task Stop_WithOpenWatches_CompletesPromptlyAndClosesThem()
    {
        await using var h = await SourceHarness.StartAsync();
        await Eventually.TrueAsync(() => KubernetesResource.All.All(r => h.Server.OpenWatches("/" + r.Path) == 1), "every kind is watched");

        var sw = Stopwatch.StartNew();
        await h.Source.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"stopping took {sw.Elapsed.TotalMilliseconds} ms");
        await Eventually.TrueAsync(() => KubernetesResource.All.All(r => h.Server.OpenWatches("/" + r.Path) == 0), "every watch is closed");
    }

    [Fact]
    public async Task Start_KubeconfigMissing_FailsWithItsPath()
    {
        var options = new KubernetesSourceOptions { Kubeconfig = "/nonexistent/ambient/kubeconfig" };
        using var source = new KubernetesSource(new ConfigStore(), new ControlPlaneMetrics(), Options.Create(options), new ListLogger<KubernetesSource>());

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => source.StartAsync(CancellationToken.None));
        Assert.Contains("/nonexistent/ambient/kubeconfig", e.Message);
    }

    [Fact]
    public void Backoff_ConsecutiveFailures_DoubleWithJitterUpToCeiling()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));
        for (var i = 0; i < 8; i++)
        {
            var ceiling = Math.Min(100 * Math.Pow(2, i), 1000);
            Assert.InRange(backoff.Next().TotalMilliseconds, ceiling / 2, ceiling);
        }
        backoff.Reset();
        Assert.InRange(backoff.Next().TotalMilliseconds, 50, 100);
        var samples = Enumerable.Range(0, 50).Select(_ => new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1)).Next()).Distinct().Count();
        Assert.True(samples > 1, "delays are jittered");
    }
}
