using Ambient.Agent.Admin;
using Ambient.Agent.Policy;
using Ambient.Agent.Tests.Testing;

namespace Ambient.Agent.Tests.Policy;

/// <summary>Inline Istio YAML → the control plane → the agent: the cases an operator writes first.</summary>
public sealed class IstioYamlEndToEndTests
{
    private const string Pods = """
        apiVersion: v1
        kind: Pod
        metadata: {name: api, namespace: shop, labels: {app: api}}
        spec: {nodeName: node-a, serviceAccountName: api, containers: [{name: api, image: api}]}
        status: {phase: Running, podIPs: [{ip: 10.244.1.1}], conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: db, namespace: shop, labels: {app: db}}
        spec: {nodeName: node-a, serviceAccountName: db, containers: [{name: db, image: db}]}
        status: {phase: Running, podIPs: [{ip: 10.244.1.2}], conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: front, labels: {app: web}}
        spec: {nodeName: node-a, serviceAccountName: web, containers: [{name: web, image: web}]}
        status: {phase: Running, podIPs: [{ip: 10.244.2.1}], conditions: [{type: Ready, status: "True"}]}
        """;

    private readonly L4PolicyEvaluator _evaluator = new();

    private PolicyDecision Eval(IstioConfig config, string ns, string pod, string? principal, int port = 8080)
    {
        var store = config.Store();
        return _evaluator.Evaluate(Conn.To(store.Current, ns, pod, port, principal), store.Current);
    }

    [Fact]
    public void DenyByPrincipal_NamedInTheReason()
    {
        var config = IstioConfig.Yaml(Pods + "\n---\n" + """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: deny-client, namespace: shop}
            spec:
              action: DENY
              rules:
              - from:
                - source:
                    principals: ["cluster.local/ns/front/sa/client"]
            """);

        var client = Eval(config, "shop", "api", Conn.Sa("front", "client"));

        Assert.Equal((false, "denied by DENY policy shop/deny-client"), (client.Allowed, client.Reason));
        Assert.True(Eval(config, "shop", "api", Conn.Sa("front", "web")).Allowed);
        Assert.True(Eval(config, "front", "web", Conn.Sa("front", "client")).Allowed); // another namespace
    }

    [Fact]
    public void AllowListOnOneWorkload_OthersUntouched()
    {
        var config = IstioConfig.Yaml(Pods + "\n---\n" + """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: db-from-api, namespace: shop}
            spec:
              selector: {matchLabels: {app: db}}
              action: ALLOW
              rules:
              - from: [{source: {principals: ["cluster.local/ns/shop/sa/api"]}}]
                to: [{operation: {ports: ["5432"]}}]
            """);

        Assert.True(Eval(config, "shop", "db", Conn.Sa("shop", "api"), port: 5432).Allowed);
        Assert.False(Eval(config, "shop", "db", Conn.Sa("shop", "api"), port: 8080).Allowed);
        Assert.False(Eval(config, "shop", "db", Conn.Sa("front", "web"), port: 5432).Allowed);
        Assert.False(Eval(config, "shop", "db", principal: null, port: 5432).Allowed);
        Assert.True(Eval(config, "shop", "api", Conn.Sa("front", "web")).Allowed);
    }

    [Fact]
    public void MeshStrict_PlaintextDeniedEverywhere_NamespacePermissiveOverrides()
    {
        var config = IstioConfig.Yaml(Pods + "\n---\n" + """
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: istio-system}
            spec: {mtls: {mode: STRICT}}
            ---
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: front}
            spec: {mtls: {mode: PERMISSIVE}}
            ---
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: db-metrics, namespace: shop}
            spec:
              selector: {matchLabels: {app: db}}
              portLevelMtls: {"9187": {mode: PERMISSIVE}}
            """);

        Assert.Equal(DenyCategory.MtlsStrict, Eval(config, "shop", "api", principal: null).Category);
        Assert.True(Eval(config, "shop", "api", Conn.Sa("front", "web")).Allowed);
        Assert.True(Eval(config, "front", "web", principal: null).Allowed);
        Assert.True(Eval(config, "shop", "db", principal: null, port: 9187).Allowed);
        Assert.False(Eval(config, "shop", "db", principal: null, port: 5432).Allowed);
    }

    [Fact]
    public async Task PolicyAppliedLater_AbortsLiveConnectionAndCountsIt()
    {
        var before = IstioConfig.Yaml(Pods);
        var after = IstioConfig.Yaml(Pods + "\n---\n" + """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: deny-front, namespace: shop}
            spec:
              action: DENY
              rules: [{from: [{source: {namespaces: [front]}}]}]
            """);
        var store = before.Store();
        var metrics = new AgentMetrics();
        using var registry = new LiveConnectionRegistry(store, _evaluator, metrics.Policy);
        var aborted = new TaskCompletionSource<PolicyDecision>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var web = registry.Register(Conn.To(store.Current, "shop", "api", principal: Conn.Sa("front", "web")), d => aborted.TrySetResult(d));
        using var api = registry.Register(Conn.To(store.Current, "shop", "db", principal: Conn.Sa("shop", "api")), d => aborted.TrySetResult(d));

        after.ServeTo(store);

        var d = await aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("denied by DENY policy shop/deny-front", d.Reason);
        Assert.True(web.IsRevoked);
        Assert.True(api.IsLive);
        await Wait.UntilAsync(() => registry.Count == 1, TimeSpan.FromSeconds(10), "the aborted connection to leave");
        Assert.Contains("ambient_agent_policy_denied_connections_total{reason=\"deny_policy\",policy=\"shop/deny-front\",stage=\"live\"} 1", metrics.Render());
    }
}
