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

    [Fact]
    public async Task AuthorizationPolicy_DenyBlocksItsPrincipal_AllowListAdmitsOnlyListedPrincipals()
    {
        var mesh = Mesh;
        await ExpectAsync(mesh, ("client", true), ("auditor", true));

        WritePolicy(mesh, "deny-auditor", """
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
            """);
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
