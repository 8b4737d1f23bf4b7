using System.Collections.Concurrent;
using System.Net;
using Ambient.Agent.Admin;
using Ambient.Agent.Inbound;
using Ambient.Agent.InPod;
using Ambient.Agent.Policy;
using Ambient.Agent.State;
using Ambient.Agent.Tests.Testing;
using Ambient.Identity;
using Ambient.Net.Netns;

namespace Ambient.Agent.Tests.Policy;

public sealed class LiveConnectionRegistryTests : IDisposable
{
    private static readonly IstioConfig Scopes = IstioConfig.Fixture("authz-actions-scopes");
    private static readonly IstioConfig PeerAuth = IstioConfig.Fixture("peer-authentication");
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly AgentMetrics _metrics = new();
    private readonly List<LiveConnectionRegistry> _registries = [];

    public void Dispose()
    {
        foreach (var r in _registries)
            r.Dispose();
    }

    private LiveConnectionRegistry Registry(WorkloadStore store)
    {
        var r = new LiveConnectionRegistry(store, new L4PolicyEvaluator(), _metrics.Policy);
        _registries.Add(r);
        return r;
    }

    /// <summary>Registers and records aborts.</summary>
    private sealed class Probe
    {
        private readonly TaskCompletionSource<PolicyDecision> _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public Probe(LiveConnectionRegistry registry, ConnectionFacts facts) =>
            Connection = registry.Register(facts, d =>
            {
                Interlocked.Increment(ref _calls);
                _aborted.TrySetResult(d);
            });

        public LiveConnection Connection { get; }
        public int Calls => Volatile.Read(ref _calls);
        public Task<PolicyDecision> Aborted => _aborted.Task;
    }

    [Fact]
    public async Task DenyPolicyAppears_AbortsMatchingConnection_LeavesAllowedOnes()
    {
        var store = Scopes.WorkloadsOnly();
        var registry = Registry(store);
        var fromOther = new Probe(registry, Conn.To(store.Current, "shop", "cart", principal: Conn.Sa("other", "client")));
        var fromShop = new Probe(registry, Conn.To(store.Current, "shop", "cart", principal: Conn.Sa("shop", "web")));
        var plaintext = new Probe(registry, Conn.To(store.Current, "shop", "pay", principal: null));
        Assert.True(fromOther.Connection.Admitted && fromShop.Connection.Admitted && plaintext.Connection.Admitted);
        Assert.Equal(3, registry.Count);

        IstioConfig.ApplyPolicies(store, ("shop/deny-from-other", Scopes.Policy("shop/deny-from-other")));

        var d = await fromOther.Aborted.WaitAsync(Timeout);
        Assert.Equal(("shop/deny-from-other", DenyCategory.DenyPolicy), (d.PolicyKey, d.Category));
        Assert.True(fromOther.Connection.IsRevoked);
        Assert.Equal("shop/deny-from-other", fromOther.Connection.Decision.PolicyKey);
        await Wait.UntilAsync(() => registry.Count == 2, Timeout, "the revoked connection to leave the registry");
        Assert.True(fromShop.Connection.IsLive);
        Assert.True(plaintext.Connection.IsLive);
        Assert.Equal((0, 0), (fromShop.Calls, plaintext.Calls));
        Assert.Equal(1, _metrics.Policy.DeniedTotal(DenyCategory.DenyPolicy, "shop/deny-from-other", DenyStage.Live));
        Assert.Contains("ambient_agent_policy_denied_connections_total{reason=\"deny_policy\",policy=\"shop/deny-from-other\",stage=\"live\"} 1",
            _metrics.Render());
    }

    [Fact]
    public async Task AllowPolicyAppears_AbortsEveryoneItDoesNotList()
    {
        var store = Scopes.WorkloadsOnly();
        var registry = Registry(store);
        var web = new Probe(registry, Conn.To(store.Current, "shop", "cart", principal: Conn.Sa("shop", "web")));
        var batch = new Probe(registry, Conn.To(store.Current, "shop", "cart", principal: Conn.Sa("shop", "batch")));

        IstioConfig.ApplyPolicies(store, ("shop/cart-from-web", Scopes.Policy("shop/cart-from-web")));

        var d = await batch.Aborted.WaitAsync(Timeout);
        Assert.Equal(DenyCategory.NotAllowed, d.Category);
        Assert.True(web.Connection.IsLive);
        Assert.Equal(0, web.Calls);
    }

    [Fact]
    public async Task WorkloadGainsStrictMtls_AbortsItsPlaintextConnections()
    {
        var store = PeerAuth.Store();
        var registry = Registry(store);
        var plaintext = new Probe(registry, Conn.To(store.Current, "permissive-ns", "plain", principal: null));
        var mtls = new Probe(registry, Conn.To(store.Current, "permissive-ns", "plain", principal: Conn.Sa("a", "b")));
        var elsewhere = new Probe(registry, Conn.To(store.Current, "permissive-ns", "mixed", principal: null));
        Assert.True(plaintext.Connection.Admitted);

        // The pod now lists the static STRICT policy (e.g. its PeerAuthentication became STRICT): no policy changed.
        var w = PeerAuth.Workload("permissive-ns", "plain");
        w.AuthorizationPolicies.Add("istio-system/istio_converted_static_strict");
        IstioConfig.ApplyWorkload(store, w);

        var d = await plaintext.Aborted.WaitAsync(Timeout);
        Assert.Equal(DenyCategory.MtlsStrict, d.Category);
        Assert.True(mtls.Connection.IsLive);
        Assert.True(elsewhere.Connection.IsLive);
        Assert.Equal(1, _metrics.Policy.DeniedTotal(DenyCategory.MtlsStrict, stage: DenyStage.Live));
        Assert.Contains("reason=\"mtls_strict\",policy=\"istio-system/istio_converted_static_strict\",stage=\"live\"", _metrics.Render());
    }

    [Fact]
    public void DeniedAtRegistration_NotKept_CountedAtConnect_NoAbortCallback()
    {
        var store = Scopes.Store("shop/pay-allow-nothing");
        var registry = Registry(store);

        var p = new Probe(registry, Conn.To(store.Current, "shop", "pay", principal: Conn.Sa("shop", "web")));

        Assert.False(p.Connection.Admitted);
        Assert.False(p.Connection.IsLive);
        Assert.Equal("no ALLOW policy matched (policies: shop/pay-allow-nothing)", p.Connection.Decision.Reason);
        Assert.Equal(0, registry.Count);
        Assert.Equal(0, p.Calls);
        Assert.Equal(1, _metrics.Policy.DeniedTotal(DenyCategory.NotAllowed, "", DenyStage.Connect));
    }

    [Fact]
    public async Task Deregistered_LeavesNothingBehind()
    {
        var store = Scopes.WorkloadsOnly();
        var registry = Registry(store);
        var probes = Enumerable.Range(0, 200)
            .Select(i => new Probe(registry, Conn.To(store.Current, "shop", "cart", principal: Conn.Sa("other", "c" + i))))
            .ToList();
        Assert.Equal(200, registry.Count);

        foreach (var p in probes.Take(100))
            p.Connection.Dispose();
        foreach (var p in probes.Skip(100))
            registry.Deregister(p.Connection.Id);
        probes[0].Connection.Dispose(); // idempotent

        Assert.Equal(0, registry.Count);
        Assert.Empty(registry.Connections);
        Assert.All(probes, p => Assert.False(p.Connection.IsLive));

        // A policy that would deny them all finds nothing to abort.
        IstioConfig.ApplyPolicies(store, ("shop/deny-from-other", Scopes.Policy("shop/deny-from-other")));
        Assert.Equal(0, registry.Revalidate());
        await Task.Delay(100);
        Assert.All(probes, p => Assert.Equal(0, p.Calls));
        Assert.Equal(0, _metrics.Policy.DeniedTotal());
    }

    [Fact]
    public void Revalidate_AbortsEachDeniedConnectionOnce()
    {
        var store = Scopes.WorkloadsOnly();
        var registry = Registry(store);
        registry.Dispose(); // no notifications: only explicit passes
        var p = new Probe(registry, Conn.To(store.Current, "shop", "cart", principal: Conn.Sa("other", "client")));
        IstioConfig.ApplyPolicies(store, ("shop/deny-from-other", Scopes.Policy("shop/deny-from-other")));

        Assert.Equal(1, registry.Revalidate());
        Assert.Equal(0, registry.Revalidate());
        Assert.Equal(1, p.Calls);
        p.Connection.Dispose();
        Assert.True(p.Connection.IsRevoked);
    }

    [Fact]
    public async Task ConcurrentRegistrationsAndPolicyChanges_NoDeniedConnectionStaysLive()
    {
        var store = Scopes.WorkloadsOnly();
        var registry = Registry(store);
        var deny = Scopes.Policy("shop/deny-from-other");
        var live = new ConcurrentBag<Probe>();
        using var stop = new CancellationTokenSource();

        var flipper = Task.Run(async () =>
        {
            for (var i = 0; i < 40; i++)
            {
                IstioConfig.ApplyPolicies(store, ("shop/deny-from-other", deny));
                await Task.Yield();
                IstioConfig.RemovePolicies(store, "shop/deny-from-other");
            }
            IstioConfig.ApplyPolicies(store, ("shop/deny-from-other", deny));
        });
        // do/while: on a busy machine the flipper can finish before a registrar is first scheduled.
        var registrars = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            do
                live.Add(new Probe(registry, Conn.To(store.Current, "shop", "cart", principal: Conn.Sa("other", "client"))));
            while (!flipper.IsCompleted);
        })).ToArray();
        await flipper.WaitAsync(Timeout);
        await Task.WhenAll(registrars).WaitAsync(Timeout);

        // The DENY is in place: every connection ends up refused at registration or aborted, none stays live.
        await Wait.UntilAsync(() => registry.Count == 0, Timeout, "every connection from 'other' to be refused or aborted");
        Assert.NotEmpty(live);
        Assert.All(live, p => Assert.False(p.Connection.IsLive));
        Assert.All(live, p => Assert.True(p.Calls <= 1));
        Assert.Equal(live.Count(p => p.Connection.Admitted && p.Connection.IsRevoked),
            _metrics.Policy.DeniedTotal(stage: DenyStage.Live));
    }

    // ---- the inbound handlers' seam ----

    [Fact]
    public async Task InboundAuthorizer_ChecksTracksAndRefusesUnknownDestinations()
    {
        var store = Scopes.Store("shop/cart-from-web");
        var registry = Registry(store);
        var authorizer = new PolicyInboundAuthorizer(store, new L4PolicyEvaluator(), registry, _metrics.Policy);
        await using var cart = new CapturedPod(new PodRef("shop", "cart"), NetNs.OpenCurrentThread(), []);
        await using var ghost = new CapturedPod(new PodRef("shop", "ghost"), NetNs.OpenCurrentThread(), []);
        var dst = IPEndPoint.Parse("10.244.9.1:8080");
        var src = IPEndPoint.Parse("10.244.5.5:40000");
        var web = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web");

        var allowed = authorizer.Check(cart, dst, src, web);
        var plaintext = authorizer.Check(cart, dst, src, null);
        var unknown = authorizer.Check(ghost, IPEndPoint.Parse("10.244.99.99:8080"), src, web);

        Assert.Equal(new InboundVerdict(true, "allowed by ALLOW policy shop/cart-from-web", "shop/cart-from-web"), allowed);
        Assert.Equal(new InboundVerdict(false, "no ALLOW policy matched (policies: shop/cart-from-web)", null), plaintext);
        Assert.Equal(new InboundVerdict(false, "denied: destination workload not found", null), unknown);
        Assert.Equal(1, _metrics.Policy.DeniedTotal(DenyCategory.UnknownDestination, stage: DenyStage.Connect));

        var reason = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (authorizer.Track(cart, dst, src, web, r => reason.TrySetResult(r)))
        {
            Assert.Equal(1, registry.Count);
            IstioConfig.ApplyPolicies(store, ("shop/deny-from-other", Scopes.Policy("shop/deny-from-other")),
                ("istio-system/mesh-deny-untrusted", Scopes.Policy("istio-system/mesh-deny-untrusted")));
            var p = Scopes.Policy("shop/cart-from-web");
            p.Groups[0].Rules[0].Matches[0].Principals[0].Exact = Conn.Sa("shop", "someone-else");
            IstioConfig.ApplyPolicies(store, ("shop/cart-from-web", p));
            Assert.Equal("no ALLOW policy matched (policies: shop/cart-from-web)", await reason.Task.WaitAsync(Timeout));
        }
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public void InboundAuthorizer_TrackAfterAPolicyChange_AbortsAtOnce()
    {
        var store = Scopes.WorkloadsOnly();
        var registry = Registry(store);
        var authorizer = new PolicyInboundAuthorizer(store, new L4PolicyEvaluator(), registry, _metrics.Policy);
        using var cart = new CapturedPod(new PodRef("shop", "cart"), NetNs.OpenCurrentThread(), []).AsDisposable();
        var dst = IPEndPoint.Parse("10.244.9.1:8080");
        var other = SpiffeId.Parse("spiffe://cluster.local/ns/other/sa/client");
        Assert.True(authorizer.Check(cart.Pod, dst, null, other).Allowed);

        // The DENY arrives between Check and Track (while the upstream connects).
        IstioConfig.ApplyPolicies(store, ("shop/deny-from-other", Scopes.Policy("shop/deny-from-other")));
        string? reason = null;
        using var _ = authorizer.Track(cart.Pod, dst, null, other, r => reason = r);

        Assert.Equal("denied by DENY policy shop/deny-from-other", reason);
        Assert.Equal(0, registry.Count);
        Assert.Equal(1, _metrics.Policy.DeniedTotal(DenyCategory.DenyPolicy, stage: DenyStage.Live));
    }

    [Fact]
    public void PeerIdentity_FromSpiffeId_IstioPrincipalForm()
    {
        var id = PeerIdentity.From(SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web"));

        Assert.Equal(("cluster.local/ns/shop/sa/web", "shop", "web"), (id.Principal, id.Namespace, id.ServiceAccount));
        Assert.Same(id, PeerIdentity.From(SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web")));
        Assert.Null(PeerIdentity.From((SpiffeId?)null));
        Assert.False(PeerIdentity.TryParse("spiffe://cluster.local/ns/shop/web", out _));
    }
}

internal static class CapturedPodTestExtensions
{
    public static DisposablePod AsDisposable(this CapturedPod pod) => new(pod);

    public sealed class DisposablePod(CapturedPod pod) : IDisposable
    {
        public CapturedPod Pod { get; } = pod;

        public void Dispose() => Pod.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
