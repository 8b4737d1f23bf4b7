using Ambient.E2E.Testing;
using Ambient.Xds.Protos.Workload;
using Xunit.Abstractions;

namespace Ambient.E2E;

/// <summary>Labelling a namespace captures its running pods; removing the label releases them. Own mesh: it edits the cluster.</summary>
public sealed class EnrollmentTests(ITestOutputHelper output) : OwnMeshTest(output)
{
    private const string Label = "istio.io/dataplane-mode";
    private const string Opened = "istio_tcp_connections_opened_total";

    [Fact]
    public async Task RunningPod_NamespaceLabelledThenUnlabelled_CapturedThenReleasedWhileTrafficFlows()
    {
        var mesh = Mesh;
        var server = mesh.State.Servers[0];
        var url = $"http://{server.Ip}:8080/";
        var outsiderNetns = mesh.PodNetns("legacy", "outsider");
        await using var addresses = AddressWatch.Start(mesh);

        await Eventually.UntilAsync("the control plane to publish legacy/outsider without a tunnel", () =>
            Task.FromResult((addresses.Workload("legacy", "outsider")?.TunnelProtocol == TunnelProtocol.None, addresses.Describe("legacy", "outsider"))), mesh);
        Assert.Empty((await mesh.IptablesAsync("legacy", "outsider")).IstioLines);

        // The outsider opens one new connection after another to a server for the whole test.
        await using var traffic = TrafficLoop.Start(outsiderNetns, url);
        var transitions = new List<(string What, DateTime From, DateTime To)>();
        await CallsAfterAsync(traffic, DateTime.UtcNow, mesh);

        var labelled = DateTime.UtcNow;
        ClusterManifests.SetNamespaceLabel(mesh, "legacy", Label, "ambient");
        await Eventually.UntilAsync("legacy/outsider captured: ISTIO chains in its netns, Captured in node-1's /pods, tunnel HBONE in the control plane", async () =>
        {
            var rules = await mesh.IptablesAsync("legacy", "outsider");
            var entry = await mesh.AgentPodAsync("node-1", "legacy", "outsider");
            var tunnel = addresses.Workload("legacy", "outsider")?.TunnelProtocol;
            return (rules.HasIstioChains && entry?.State == "Captured" && entry.Listeners.Count == 3 && tunnel == TunnelProtocol.Hbone,
                $"ISTIO chains {rules.HasIstioChains}, /pods {entry?.State ?? "absent"} listeners [{string.Join(", ", entry?.Listeners ?? [])}], {addresses.Describe("legacy", "outsider")}");
        }, mesh);
        transitions.Add(("capture", labelled, DateTime.UtcNow));
        Assert.Empty((await mesh.IptablesAsync("legacy", "outsider")).DuplicateRules);

        // Captured for real: the outsider's new connections now pass through node-1's agent.
        var viaAgent = (await mesh.MetricsAsync("node-1")).Sum(Opened, ("reporter", "source"), ("source_workload", "outsider"));
        await CallsAfterAsync(traffic, DateTime.UtcNow, mesh);
        await Eventually.UntilAsync("node-1's agent to count the captured outsider's connections", async () =>
        {
            var now = (await mesh.MetricsAsync("node-1")).Sum(Opened, ("reporter", "source"), ("source_workload", "outsider"));
            return (now > viaAgent, $"{viaAgent} → {now}");
        }, mesh, TimeSpan.FromSeconds(10));

        var unlabelled = DateTime.UtcNow;
        ClusterManifests.SetNamespaceLabel(mesh, "legacy", Label, null);
        await Eventually.UntilAsync("legacy/outsider released: no ISTIO rules, NotEnrolled in node-1's /pods, no tunnel in the control plane", async () =>
        {
            var rules = await mesh.IptablesAsync("legacy", "outsider");
            var entry = await mesh.AgentPodAsync("node-1", "legacy", "outsider");
            var tunnel = addresses.Workload("legacy", "outsider")?.TunnelProtocol;
            return (rules.IstioLines.Count == 0 && entry?.State == "NotEnrolled" && entry.Listeners.Count == 0 && tunnel == TunnelProtocol.None,
                $"ISTIO lines {rules.IstioLines.Count}, /pods {entry?.State ?? "absent"}, {addresses.Describe("legacy", "outsider")}");
        }, mesh);
        transitions.Add(("release", unlabelled, DateTime.UtcNow));

        // Released: the outsider's connections no longer pass through the agent.
        var released = (await mesh.MetricsAsync("node-1")).Sum(Opened, ("reporter", "source"), ("source_workload", "outsider"));
        await CallsAfterAsync(traffic, DateTime.UtcNow, mesh);
        Assert.Equal(released, (await mesh.MetricsAsync("node-1")).Sum(Opened, ("reporter", "source"), ("source_workload", "outsider")));

        // New connections must work at every moment. The one exception is Istio's documented behaviour (istio/istio#48876):
        // a connection already open when the rules change is cut (conntrack picks it up mid-stream and redirects it, or
        // its agent listener closes). So: never a refused connection (rules pointing at a closed port), and at most one
        // broken call per transition, overlapping it.
        await traffic.DisposeAsync();
        var calls = traffic.Calls.ToArray();
        Assert.True(traffic.Unparsed.Count == 0, "traffic loop: " + string.Join("\n", traffic.Unparsed.Take(5)));
        var failed = calls.Where(c => !c.Ok).ToArray();
        Output.WriteLine($"{calls.Length} calls from the outsider, {failed.Length} failed; transitions: " +
            string.Join(", ", transitions.Select(t => $"{t.What} {t.From:HH:mm:ss.fff}–{t.To:HH:mm:ss.fff}")));
        var inFlight = failed.Where(c => c.CurlExit != TrafficLoop.CouldNotConnect && transitions.Any(t => c.Start <= t.To && c.End >= t.From)).ToArray();
        var unexplained = failed.Except(inFlight).ToArray();
        var perTransition = transitions.Select(t => (t.What, Count: inFlight.Count(c => c.Start <= t.To && c.End >= t.From))).ToArray();
        Assert.True(unexplained.Length == 0 && perTransition.All(p => p.Count <= 1),
            $"{failed.Length} of {calls.Length} calls failed ({string.Join(", ", perTransition.Select(p => $"{p.Count} in flight during {p.What}"))}):\n" +
            string.Join("\n", failed.Take(10)) + "\n" + await mesh.DiagnosticsAsync());

        // The enrolled pods were not disturbed.
        Assert.True((await mesh.IptablesAsync("shop", "client")).HasIstioChains);
        Assert.Equal("Captured", (await mesh.AgentPodAsync("node-1", "shop", "client"))?.State);
    }

    /// <summary>Waits until a few calls started after <paramref name="since"/> have finished: traffic ran in this phase.</summary>
    private static Task CallsAfterAsync(TrafficLoop traffic, DateTime since, LocalMesh mesh) =>
        Eventually.UntilAsync("ten calls from the outsider in this phase", () =>
        {
            var n = traffic.CallsSince(since);
            return Task.FromResult((n >= 10, $"{n} calls; unparsed output: {string.Join(" | ", traffic.Unparsed.Take(3))}"));
        }, mesh, TimeSpan.FromSeconds(20));
}
