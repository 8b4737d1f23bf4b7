using Ambient.E2E.Testing;
using Xunit.Abstractions;

namespace Ambient.E2E;

/// <summary>
/// Istio security policies, written as the unchanged `security.istio.io/v1` YAML a platform team would apply, enforced by
/// the destination agent (node-2). Callers: shop/client and shop/auditor (meshed, node-1, different service accounts)
/// and legacy/outsider (not meshed: plaintext). Own mesh: the tests edit the cluster.
/// </summary>
public sealed class PolicyTests(ITestOutputHelper output) : OwnMeshTest(output)
{
    private const string Vip = "http://10.96.0.10/";

    private const string DenyAuditor = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: deny-auditor
          namespace: shop
        spec:
          selector:
            matchLabels:
              app: server
          action: DENY
          rules:
          - from:
            - source:
                principals: ["cluster.local/ns/shop/sa/auditor"]
        """;

    [Fact]
    public async Task AuthorizationPolicy_DenyBlocksItsPrincipal_AllowListAdmitsOnlyListedPrincipals()
    {
        var mesh = Mesh;
        await ExpectAsync(mesh, ("client", true), ("auditor", true));

        WritePolicy(mesh, "deny-auditor", DenyAuditor);
        await ExpectAsync(mesh, ("client", true), ("auditor", false));
        var denied = (await mesh.MetricsAsync("node-2")).Sum("istio_tcp_connections_failed_total", ("reporter", "destination"),
            ("source_principal", "spiffe://cluster.local/ns/shop/sa/auditor"), ("response_flags", "DENY"));
        Assert.True(denied >= 1, "node-2's agent did not count the denied connection with response_flags=DENY");

        RemovePolicy(mesh, "deny-auditor");
        WritePolicy(mesh, "allow-client", """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata:
              name: allow-client
              namespace: shop
            spec:
              selector:
                matchLabels:
                  app: server
              action: ALLOW
              rules:
              - from:
                - source:
                    principals: ["cluster.local/ns/shop/sa/client"]
            """);
        await ExpectAsync(mesh, ("client", true), ("auditor", false));
        // Plaintext has no principal, so the allow-list does not admit the outsider either.
        var server = mesh.State.Servers[0];
        await Eventually.UntilAsync("the allow-list to refuse the outsider's plaintext call", async () =>
        {
            var r = await mesh.CurlAsync("legacy", "outsider", $"http://{server.Ip}:8080/");
            return (!r.Ok, r.ToString());
        }, mesh, TimeSpan.FromSeconds(15));

        RemovePolicy(mesh, "allow-client");
        await ExpectAsync(mesh, ("client", true), ("auditor", true));
    }

    [Fact]
    public async Task PeerAuthentication_StrictRefusesPlaintextFromANonMeshPod_PermissiveAdmitsIt()
    {
        var mesh = Mesh;
        var server = mesh.State.Servers[0];
        var direct = $"http://{server.Ip}:8080/";
        var plain = await mesh.CurlAsync("legacy", "outsider", direct);
        Assert.True(plain.Ok, $"without any PeerAuthentication (PERMISSIVE) the outsider's plaintext call must pass: {plain}\n{await mesh.DiagnosticsAsync()}");

        WritePolicy(mesh, "peer-authentication", Peer("STRICT"));
        await Eventually.UntilAsync("STRICT to refuse the outsider's plaintext call", async () =>
        {
            var r = await mesh.CurlAsync("legacy", "outsider", direct);
            return (!r.Ok, r.ToString());
        }, mesh, TimeSpan.FromSeconds(15));
        await ExpectAsync(mesh, ("client", true)); // mutual TLS still passes

        WritePolicy(mesh, "peer-authentication", Peer("PERMISSIVE"));
        await Eventually.UntilAsync("PERMISSIVE to admit the outsider's plaintext call again", async () =>
        {
            var r = await mesh.CurlAsync("legacy", "outsider", direct);
            return (r.Ok, r.ToString());
        }, mesh, TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task DenyPolicyApplied_DuringALiveConnection_ClosesIt()
    {
        var mesh = Mesh;
        var server = mesh.State.Servers[0];
        using var echo = new PodProcess(mesh.PodNetns("shop", server.Name), "/usr/bin/python3", "-c", PodProcess.EchoServer);
        await Eventually.UntilAsync("the echo server in the server pod to accept the auditor", async () =>
        {
            var r = await mesh.ExecAsync("shop", "auditor", "/usr/bin/python3", "-c", PodProcess.EchoProbe(server.Ip));
            return (r.Ok, r.ToString());
        }, mesh, TimeSpan.FromSeconds(20));

        (string, string)[] auditorIn = [("reporter", "destination"), ("source_principal", "spiffe://cluster.local/ns/shop/sa/auditor")];
        async Task<double> OpenAsync()
        {
            var m = await mesh.MetricsAsync("node-2");
            return m.Sum("istio_tcp_connections_opened_total", auditorIn) - m.Sum("istio_tcp_connections_closed_total", auditorIn);
        }
        await Eventually.UntilAsync("the probes' connections to be counted closed", async () => (await OpenAsync() == 0, $"{await OpenAsync()} open"), mesh, TimeSpan.FromSeconds(10));
        var openedBefore = (await mesh.MetricsAsync("node-2")).Sum("istio_tcp_connections_opened_total", auditorIn);
        // 40 round trips 0.5 s apart: it would last 20 s if nothing cut it.
        var conversation = mesh.CtlAsync(TimeSpan.FromSeconds(60), "local", "exec", "-n", "shop", "auditor", "--", "/usr/bin/python3", "-c", PodProcess.EchoClient(server.Ip, 40));
        await Eventually.UntilAsync("node-2 to hold the auditor's live connection", async () =>
        {
            var opened = (await mesh.MetricsAsync("node-2")).Sum("istio_tcp_connections_opened_total", auditorIn);
            var open = await OpenAsync();
            return (opened > openedBefore && open == 1, $"opened {openedBefore} → {opened}, {open} open");
        }, mesh, TimeSpan.FromSeconds(10));

        WritePolicy(mesh, "deny-auditor", DenyAuditor);
        var result = await conversation;
        Assert.False(result.Ok, $"the auditor's connection outlived the DENY policy: {result}");
        Assert.Matches("(closed by peer|broken) after [0-9]+ round trips", result.Stderr);
        await Eventually.UntilAsync("node-2 to count the connection closed by the policy change (stage=live)", async () =>
        {
            var m = await mesh.MetricsAsync("node-2");
            var live = m.Sum("ambient_agent_policy_denied_connections_total", ("stage", "live"), ("policy", "shop/deny-auditor"));
            return (live >= 1, string.Join('\n', m.Raw.Split('\n').Where(l => l.StartsWith("ambient_agent_policy", StringComparison.Ordinal))));
        }, mesh, TimeSpan.FromSeconds(10));
    }

    private static string Peer(string mode) => $"""
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata:
          name: default
          namespace: shop
        spec:
          mtls:
            mode: {mode}
        """;

    /// <summary>Waits until each caller's call to the VIP succeeds or fails as expected, all in the same round.</summary>
    private static Task ExpectAsync(LocalMesh mesh, params (string Pod, bool Ok)[] expected) =>
        Eventually.UntilAsync(string.Join(", ", expected.Select(e => $"shop/{e.Pod} {(e.Ok ? "allowed" : "denied")}")), async () =>
        {
            var detail = new List<string>();
            var all = true;
            foreach (var (pod, ok) in expected)
            {
                var r = await mesh.CurlAsync("shop", pod, Vip);
                var passed = r.Ok && r.Stdout.StartsWith("hello from", StringComparison.Ordinal);
                all &= passed == ok;
                detail.Add($"{pod}: {(passed ? "passed" : "refused, curl exit " + r.ExitCode)}");
            }
            return (all, string.Join("; ", detail));
        }, mesh, TimeSpan.FromSeconds(20));

    private static void WritePolicy(LocalMesh mesh, string name, string yaml) =>
        ClusterManifests.WriteAtomically(Path.Combine(mesh.ManifestsDir, $"50-policy-{name}.yaml"), yaml);

    private static void RemovePolicy(LocalMesh mesh, string name) => File.Delete(Path.Combine(mesh.ManifestsDir, $"50-policy-{name}.yaml"));
}
