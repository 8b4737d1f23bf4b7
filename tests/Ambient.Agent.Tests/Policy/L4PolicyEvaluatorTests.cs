using System.Net;
using Ambient.Agent.Policy;
using Ambient.Agent.State;
using Google.Protobuf;
using ProtoSecurity = Ambient.Xds.Protos.Security;

namespace Ambient.Agent.Tests.Policy;

/// <summary>
/// Istio AuthorizationPolicy YAML (the control plane's fixtures) → the real control plane's conversion → the agent's
/// store → <see cref="L4PolicyEvaluator"/>, checked against Istio/ztunnel semantics.
/// </summary>
public sealed class L4PolicyEvaluatorTests
{
    private static readonly IstioConfig Scopes = IstioConfig.Fixture("authz-actions-scopes");
    private static readonly IstioConfig Rules = IstioConfig.Fixture("authz-rules");
    private static readonly IstioConfig L7 = IstioConfig.Fixture("authz-l7");
    private readonly L4PolicyEvaluator _evaluator = new();

    private PolicyDecision Eval(WorkloadStore store, ConnectionFacts facts) => _evaluator.Evaluate(facts, store.Current);

    private PolicyDecision Eval(WorkloadStore store, string ns, string pod, string? principal, int port = 8080, string sourceIp = "10.244.5.5") =>
        Eval(store, Conn.To(store.Current, ns, pod, port, principal, sourceIp));

    // ---- actions and scopes ----

    [Fact]
    public void NoPolicies_EveryConnectionAllowed()
    {
        var store = Scopes.WorkloadsOnly();

        var plaintext = Eval(store, "shop", "cart", principal: null);
        var mtls = Eval(store, "shop", "cart", Conn.Sa("other", "x"));

        Assert.True(plaintext.Allowed);
        Assert.True(mtls.Allowed);
        Assert.Equal((DecisionKind.AllowedNoPolicies, "allowed: no policies", (string?)null), (plaintext.Kind, plaintext.Reason, plaintext.PolicyKey));
    }

    [Fact]
    public void DenyPolicy_MatchingSourceDenied_OthersAllowed()
    {
        var store = Scopes.Store("shop/deny-from-other");

        var fromOther = Eval(store, "shop", "pay", Conn.Sa("other", "client"));
        var fromShop = Eval(store, "shop", "pay", Conn.Sa("shop", "web"));

        Assert.False(fromOther.Allowed);
        Assert.Equal(("shop/deny-from-other", "denied by DENY policy shop/deny-from-other", DenyCategory.DenyPolicy),
            (fromOther.PolicyKey, fromOther.Reason, fromOther.Category));
        Assert.True(fromShop.Allowed);
        Assert.Equal(DecisionKind.AllowedNoDenyMatch, fromShop.Kind);
        // Plaintext has no namespace: a positive namespace test fails, so this DENY does not match it.
        Assert.True(Eval(store, "shop", "pay", principal: null).Allowed);
    }

    [Fact]
    public void NamespacePolicy_AppliesOnlyInItsNamespace()
    {
        var store = Scopes.Store("shop/deny-from-other");

        Assert.False(Eval(store, "shop", "cart", Conn.Sa("other", "client")).Allowed);
        Assert.True(Eval(store, "other", "cart", Conn.Sa("other", "client")).Allowed);
    }

    [Fact]
    public void RootNamespacePolicy_AppliesToEveryNamespace()
    {
        var store = Scopes.Store("istio-system/mesh-deny-untrusted");

        foreach (var (ns, pod) in new[] { ("shop", "cart"), ("shop", "pay"), ("other", "cart") })
        {
            var d = Eval(store, ns, pod, Conn.Sa("untrusted", "bot"));
            Assert.False(d.Allowed, $"{ns}/{pod}");
            Assert.Equal("istio-system/mesh-deny-untrusted", d.PolicyKey);
            Assert.True(Eval(store, ns, pod, Conn.Sa("shop", "web")).Allowed, $"{ns}/{pod}");
        }
    }

    [Fact]
    public void AllowList_AdmitsListedPrincipalOnly()
    {
        var store = Scopes.Store("shop/cart-from-web");

        var web = Eval(store, "shop", "cart", Conn.Sa("shop", "web"));
        var other = Eval(store, "shop", "cart", Conn.Sa("shop", "batch"));
        var plaintext = Eval(store, "shop", "cart", principal: null);

        Assert.Equal((true, "allowed by ALLOW policy shop/cart-from-web"), (web.Allowed, web.Reason));
        Assert.Equal((false, "no ALLOW policy matched (policies: shop/cart-from-web)", DenyCategory.NotAllowed), (other.Allowed, other.Reason, other.Category));
        Assert.False(plaintext.Allowed);
    }

    [Fact]
    public void SelectorPolicy_AppliesOnlyToWorkloadsListingIt()
    {
        var store = Scopes.Store("shop/cart-from-web");

        Assert.False(Eval(store, "shop", "cart", Conn.Sa("shop", "batch")).Allowed);
        Assert.True(Eval(store, "shop", "pay", Conn.Sa("shop", "batch")).Allowed);
        // Same labels in another namespace: a selector policy never crosses namespaces.
        Assert.True(Eval(store, "other", "cart", Conn.Sa("shop", "batch")).Allowed);
    }

    [Fact]
    public void RootNamespaceSelectorPolicy_AppliesToMatchingPodsOfEveryNamespace()
    {
        var store = Scopes.Store("istio-system/cart-everywhere");

        Assert.True(Eval(store, "other", "cart", Conn.Sa("other", "client")).Allowed);
        Assert.False(Eval(store, "other", "cart", Conn.Sa("third", "client")).Allowed);
        Assert.True(Eval(store, "shop", "pay", Conn.Sa("third", "client")).Allowed);
    }

    [Fact]
    public void AllowNothing_DeniesEverything()
    {
        var store = Scopes.Store("shop/pay-allow-nothing");

        foreach (var principal in new[] { null, Conn.Sa("shop", "web"), Conn.Sa("shop", "pay") })
        {
            var d = Eval(store, "shop", "pay", principal);
            Assert.False(d.Allowed, principal ?? "plaintext");
            Assert.Equal("no ALLOW policy matched (policies: shop/pay-allow-nothing)", d.Reason);
        }
    }

    [Fact]
    public void AllowPolicies_AnyOneAdmits_DenialListsThemAll()
    {
        var store = Scopes.Store("istio-system/cart-everywhere", "shop/cart-from-web");

        var byNamespace = Eval(store, "shop", "cart", Conn.Sa("other", "client"));
        var byPrincipal = Eval(store, "shop", "cart", Conn.Sa("shop", "web"));
        var neither = Eval(store, "shop", "cart", Conn.Sa("third", "client"));

        Assert.Equal("istio-system/cart-everywhere", byNamespace.PolicyKey);
        Assert.True(byNamespace.Allowed);
        Assert.True(byPrincipal.Allowed);
        Assert.Equal("no ALLOW policy matched (policies: istio-system/cart-everywhere, shop/cart-from-web)", neither.Reason);
    }

    [Fact]
    public void DenyPolicy_WinsOverMatchingAllow()
    {
        var store = Scopes.Store();

        var d = Eval(store, "shop", "cart", Conn.Sa("other", "client"));

        Assert.False(d.Allowed);
        Assert.Equal("shop/deny-from-other", d.PolicyKey);
    }

    [Fact]
    public void DryRunPolicy_NeverEnforced_ButReportsWhatItWouldDo()
    {
        var store = Scopes.Store("shop/cart-deny-dry-run");

        var hit = Eval(store, "shop", "cart", principal: null, port: 9999);
        var miss = Eval(store, "shop", "cart", principal: null, port: 8080);

        Assert.True(hit.Allowed);
        Assert.Equal(DecisionKind.AllowedNoPolicies, hit.Kind);
        Assert.Equal(false, hit.DryRunWouldAllow);
        Assert.True(hit.DryRunDiffers);
        Assert.Equal("would be denied by DENY policy shop/cart-deny-dry-run", hit.DryRunReason);
        var r = Assert.Single(hit.DryRun);
        Assert.Equal(("shop/cart-deny-dry-run", true), (r.Policy.Key, r.Matched));

        Assert.True(miss.Allowed);
        Assert.Equal(true, miss.DryRunWouldAllow);
        Assert.False(miss.DryRunDiffers);
        Assert.False(Assert.Single(miss.DryRun).Matched);
    }

    [Fact]
    public void DryRunAllowPolicy_WouldDenyUnlisted_ButAllows()
    {
        var p = Scopes.Policy("shop/cart-from-web");
        p.DryRun = true;
        var store = Scopes.WorkloadsOnly();
        IstioConfig.ApplyPolicies(store, ("shop/cart-from-web", p));

        var d = Eval(store, "shop", "cart", Conn.Sa("shop", "batch"));

        Assert.True(d.Allowed);
        Assert.Equal(false, d.DryRunWouldAllow);
        Assert.Equal("would be no ALLOW policy matched (policies: shop/cart-from-web (dry-run))", d.DryRunReason);
        Assert.Equal(true, Eval(store, "shop", "cart", Conn.Sa("shop", "web")).DryRunWouldAllow);
    }

    [Fact]
    public void NoDryRunPolicies_ReportNothing()
    {
        var d = Eval(Scopes.Store("shop/cart-from-web"), "shop", "cart", Conn.Sa("shop", "web"));

        Assert.Empty(d.DryRun);
        Assert.Null(d.DryRunWouldAllow);
        Assert.Null(d.DryRunReason);
    }

    // ---- rule fields ----

    [Fact]
    public void Principals_ExactSpiffePrefixSuffixAndNotPrincipals()
    {
        // The fixture ORs this entry with principals: ["*"]; isolate the first entry to see each form.
        var p = Rules.Policy("bank/principals");
        p.Groups[0].Rules[0].Matches.RemoveAt(1);
        var store = Rules.WorkloadsOnly();
        IstioConfig.ApplyPolicies(store, ("bank/principals", p));

        Assert.True(Eval(store, "bank", "ledger", Conn.Sa("bank", "teller")).Allowed);
        Assert.True(Eval(store, "bank", "ledger", Conn.Sa("bank", "auditor")).Allowed); // written with spiffe://
        Assert.True(Eval(store, "bank", "ledger", Conn.Sa("ops", "anything")).Allowed); // prefix cluster.local/ns/ops/
        Assert.True(Eval(store, "bank", "ledger", "other.td/ns/x/sa/admin").Allowed);  // suffix /sa/admin
        Assert.False(Eval(store, "bank", "ledger", Conn.Sa("bank", "intern")).Allowed); // excluded by notPrincipals
        Assert.False(Eval(store, "bank", "ledger", Conn.Sa("bank", "clerk")).Allowed);
        Assert.False(Eval(store, "bank", "ledger", principal: null).Allowed);
    }

    [Fact]
    public void PrincipalsStar_AnyAuthenticatedPeer_NotPlaintext()
    {
        var store = Rules.Store("bank/principals");

        // The second source (principals: ["*"]) admits even the peer the first one excludes.
        Assert.True(Eval(store, "bank", "ledger", Conn.Sa("bank", "intern")).Allowed);
        Assert.True(Eval(store, "bank", "ledger", Conn.Sa("anywhere", "anyone")).Allowed);
        Assert.False(Eval(store, "bank", "ledger", principal: null).Allowed);
    }

    [Fact]
    public void Namespaces_ExactPrefixSuffix_NotNamespacesExcluded()
    {
        var store = Rules.Store("bank/namespaces");

        foreach (var ns in new[] { "bank", "team-a", "eu-prod" })
            Assert.True(Eval(store, "bank", "ledger", Conn.Sa(ns, "sa")).Allowed, ns);
        foreach (var ns in new[] { "sandbox", "other", "prod-eu" })
            Assert.False(Eval(store, "bank", "ledger", Conn.Sa(ns, "sa")).Allowed, ns);
        Assert.False(Eval(store, "bank", "ledger", principal: null).Allowed);
    }

    [Fact]
    public void NotNamespacesOnly_HoldsForPlaintext()
    {
        var p = Rules.Policy("bank/namespaces");
        p.Groups[0].Rules[0].Matches[0].Namespaces.Clear(); // ALLOW notNamespaces: [sandbox]
        var store = Rules.WorkloadsOnly();
        IstioConfig.ApplyPolicies(store, ("bank/namespaces", p));

        Assert.False(Eval(store, "bank", "ledger", Conn.Sa("sandbox", "sa")).Allowed);
        Assert.True(Eval(store, "bank", "ledger", Conn.Sa("bank", "sa")).Allowed);
        // ztunnel: no identity → namespace "", which is not "sandbox".
        Assert.True(Eval(store, "bank", "ledger", principal: null).Allowed);
    }

    [Theory]
    [InlineData("10.2.3.4", true)]
    [InlineData("10.1.2.3", false)]     // notIpBlocks 10.1.0.0/16
    [InlineData("192.168.1.7", true)]   // a bare address is a /32
    [InlineData("192.168.1.8", false)]
    [InlineData("2001:db8:1::1", true)]
    [InlineData("2001:db9::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("::ffff:10.2.3.4", true)] // a dual-stack socket's IPv4 peer
    [InlineData("11.0.0.1", false)]
    public void IpBlocks_AndNotIpBlocks(string source, bool allowed)
    {
        var store = Rules.Store("bank/ip-blocks");

        Assert.Equal(allowed, Eval(store, "bank", "ledger", principal: null, sourceIp: source).Allowed);
    }

    [Theory]
    [InlineData(8080, true)]
    [InlineData(9090, true)]
    [InlineData(1234, true)]    // the second operation: any port but 15021
    [InlineData(15021, false)]
    public void Ports_AndNotPorts(int port, bool allowed)
    {
        var store = Rules.Store("bank/ports");

        Assert.Equal(allowed, Eval(store, "bank", "ledger", principal: null, port: port).Allowed);
    }

    [Fact]
    public void PortsOnly_RestrictsToListedPorts()
    {
        var p = Rules.Policy("bank/ports");
        p.Groups[0].Rules[0].Matches.RemoveAt(1);
        var store = Rules.WorkloadsOnly();
        IstioConfig.ApplyPolicies(store, ("bank/ports", p));

        Assert.True(Eval(store, "bank", "ledger", null, port: 9090).Allowed);
        Assert.False(Eval(store, "bank", "ledger", null, port: 9091).Allowed);
    }

    [Fact]
    public void ServiceAccounts_BareNameMeansPolicyNamespace_NotServiceAccountsExcluded()
    {
        var store = Rules.Store("bank/service-accounts");

        Assert.True(Eval(store, "bank", "ledger", Conn.Sa("bank", "teller")).Allowed);
        Assert.True(Eval(store, "bank", "ledger", Conn.Sa("bank", "auditor")).Allowed);
        Assert.True(Eval(store, "bank", "ledger", "other.td/ns/bank/sa/teller").Allowed); // any trust domain
        Assert.False(Eval(store, "bank", "ledger", Conn.Sa("ops", "auditor")).Allowed);
        Assert.False(Eval(store, "bank", "ledger", Conn.Sa("ops", "robot")).Allowed);
        Assert.False(Eval(store, "bank", "ledger", principal: null).Allowed);
    }

    [Fact]
    public void WhenConditions_AllMustHold()
    {
        var store = Rules.Store("bank/conditions");
        var ok = Conn.To(store.Current, "bank", "ledger", 8080, Conn.Sa("bank", "teller"), "10.3.3.3") with { DestinationIp = IPAddress.Parse("10.96.4.4") };

        Assert.True(Eval(store, ok).Allowed);
        Assert.False(Eval(store, ok with { SourceIp = IPAddress.Parse("10.0.0.1") }).Allowed);       // notValues
        Assert.False(Eval(store, ok with { SourceIp = IPAddress.Parse("11.0.0.1") }).Allowed);
        Assert.False(Eval(store, ok with { Source = Conn.Identity(Conn.Sa("ops", "teller")) }).Allowed); // source.namespace
        Assert.False(Eval(store, ok with { Source = Conn.Identity(Conn.Sa("bank", "intern")) }).Allowed); // not source.principal
        Assert.False(Eval(store, ok with { DestinationIp = IPAddress.Parse("10.97.0.1") }).Allowed);
        Assert.False(Eval(store, ok with { DestinationPort = 8081 }).Allowed);
    }

    [Fact]
    public void Rules_AreOred_FromToWhenWithinOneRuleAnded()
    {
        var store = Rules.Store("bank/combined");

        Assert.True(Eval(store, "bank", "ledger", Conn.Sa("bank", "teller"), port: 8080).Allowed);
        Assert.False(Eval(store, "bank", "ledger", Conn.Sa("bank", "teller"), port: 9090).Allowed);
        Assert.False(Eval(store, "bank", "ledger", Conn.Sa("bank", "clerk"), port: 8080).Allowed);
        Assert.True(Eval(store, "bank", "ledger", Conn.Sa("ops", "anyone"), port: 1).Allowed); // the second rule
    }

    [Fact]
    public void EmptyRule_MatchesEverything()
    {
        var store = Rules.Store("bank/allow-any");

        var d = Eval(store, "bank", "ledger", principal: null, port: 1, sourceIp: "203.0.113.9");

        Assert.Equal((true, "bank/allow-any"), (d.Allowed, d.PolicyKey));
    }

    // ---- rules that need a waypoint ----

    [Fact]
    public void DenyRuleOfOnlyHttpAttributes_HasNoEffectAtL4()
    {
        var store = L7.Store("api/deny-admin-path", "api/deny-debug-header");

        Assert.True(Eval(store, "api", "api", Conn.Sa("api", "client")).Allowed);
        Assert.True(Eval(store, "api", "api", principal: null).Allowed);
    }

    [Fact]
    public void DenyRuleWithHttpAttributes_EnforcedWithItsL4Part()
    {
        var store = L7.Store("api/deny-delete", "api/deny-remote-ip");

        Assert.False(Eval(store, "api", "api", Conn.Sa("api", "client"), port: 8080).Allowed);
        Assert.True(Eval(store, "api", "api", Conn.Sa("api", "client"), port: 9090).Allowed);
        Assert.Equal("api/deny-remote-ip", Eval(store, "api", "api", null, port: 9090, sourceIp: "5.6.7.8").PolicyKey);
    }

    [Fact]
    public void AllowRuleWithHttpAttributes_NeverMatches()
    {
        Assert.False(Eval(L7.Store("api/allow-jwt"), "api", "api", Conn.Sa("api", "client")).Allowed);
        var get = L7.Store("api/allow-get");
        Assert.True(Eval(get, "api", "api", Conn.Sa("api", "client")).Allowed);  // its second, L4-only rule
        Assert.False(Eval(get, "api", "api", Conn.Sa("web", "client")).Allowed); // the GET rule was dropped
    }

    // ---- ztunnel's edge semantics, on hand-built protos ----

    [Fact]
    public void NotPrincipals_HoldForPlaintext()
    {
        var store = Scopes.WorkloadsOnly();
        var deny = new ProtoSecurity.Authorization { Name = "only-web", Namespace = "shop", Scope = ProtoSecurity.Scope.Namespace, Action = ProtoSecurity.Action.Deny };
        var m = new ProtoSecurity.Match();
        m.NotPrincipals.Add(new ProtoSecurity.StringMatch { Exact = Conn.Sa("shop", "web") });
        deny.Groups.Add(new ProtoSecurity.Group { Rules = { new ProtoSecurity.Rules { Matches = { m } } } });
        IstioConfig.ApplyPolicies(store, ("shop/only-web", deny));

        Assert.True(Eval(store, "shop", "cart", Conn.Sa("shop", "web")).Allowed);
        Assert.False(Eval(store, "shop", "cart", Conn.Sa("shop", "batch")).Allowed);
        Assert.False(Eval(store, "shop", "cart", principal: null).Allowed);
    }

    [Fact]
    public void UnsetStringMatchesAndBadAddresses_DroppedAsZtunnelDoes()
    {
        var store = Scopes.WorkloadsOnly();
        var allow = new ProtoSecurity.Authorization { Name = "odd", Namespace = "shop", Scope = ProtoSecurity.Scope.Namespace, Action = ProtoSecurity.Action.Allow };
        var m = new ProtoSecurity.Match();
        m.Principals.Add(new ProtoSecurity.StringMatch());                                                         // unset: dropped
        m.SourceIps.Add(new ProtoSecurity.Address { Address_ = ByteString.CopyFrom(1, 2, 3), Length = 8 });        // 3 bytes: dropped
        m.DestinationPorts.Add(8080);
        allow.Groups.Add(new ProtoSecurity.Group { Rules = { new ProtoSecurity.Rules { Matches = { m } } } });
        IstioConfig.ApplyPolicies(store, ("shop/odd", allow));

        // What is left is "port 8080", for anyone.
        Assert.True(Eval(store, "shop", "cart", principal: null, port: 8080).Allowed);
        Assert.False(Eval(store, "shop", "cart", principal: null, port: 8081).Allowed);
    }

    [Fact]
    public void ListedPolicyNotServed_IsSkipped()
    {
        // shop/cart lists three policies; none is served.
        var d = Eval(Scopes.WorkloadsOnly(), "shop", "cart", principal: null);

        Assert.Equal(DecisionKind.AllowedNoPolicies, d.Kind);
    }

    [Fact]
    public void ApplicablePolicies_NamespaceThenGlobalThenWorkload()
    {
        var store = Scopes.Store();
        var cart = store.Current.FindPodWorkload("shop", "cart")!;

        var keys = _evaluator.ApplicablePolicies(cart, store.Current).Select(p => p.Key);

        Assert.Equal(["shop/deny-from-other", "istio-system/mesh-deny-untrusted", "istio-system/cart-everywhere", "shop/cart-deny-dry-run", "shop/cart-from-web"], keys);
    }

    [Fact]
    public void WorkloadOnlyUpdate_ReusesPolicyIndex_PolicyUpdateSeen()
    {
        var store = Scopes.Store("shop/cart-from-web");
        Assert.False(Eval(store, "shop", "cart", Conn.Sa("shop", "batch")).Allowed);

        IstioConfig.ApplyWorkload(store, Scopes.Workload("shop", "pay"));
        Assert.False(Eval(store, "shop", "cart", Conn.Sa("shop", "batch")).Allowed);

        IstioConfig.RemovePolicies(store, "shop/cart-from-web");
        Assert.True(Eval(store, "shop", "cart", Conn.Sa("shop", "batch")).Allowed);
    }
}

public sealed class L4PolicyEvaluatorAllocationTests
{
    [Fact]
    public void AllowPaths_AllocateNothingPerConnection()
    {
        var config = IstioConfig.Fixture("authz-actions-scopes");
        var store = config.Store("istio-system/mesh-deny-untrusted", "shop/deny-from-other", "istio-system/cart-everywhere", "shop/cart-from-web");
        var evaluator = new L4PolicyEvaluator();
        var byPolicy = Conn.To(store.Current, "shop", "cart", principal: Conn.Sa("shop", "web"));
        var noAllow = Conn.To(store.Current, "shop", "pay", principal: Conn.Sa("shop", "web"), sourceIp: "::ffff:10.1.2.3");
        var snapshot = store.Current;
        for (var i = 0; i < 100; i++)
        {
            evaluator.Evaluate(byPolicy, snapshot);
            evaluator.Evaluate(noAllow, snapshot);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var allowed = 0;
        for (var i = 0; i < 1000; i++)
        {
            allowed += evaluator.Evaluate(byPolicy, snapshot).Allowed ? 1 : 0;
            allowed += evaluator.Evaluate(noAllow, snapshot).Allowed ? 1 : 0;
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(2000, allowed);
        Assert.Equal(0, allocated);
    }
}
