using System.Collections.Concurrent;
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

        // The outsider calls a server the whole time; every call must succeed, across both transitions.
        using var stop = new CancellationTokenSource();
        var calls = new ConcurrentQueue<(DateTime At, ProcResult Result)>();
        var loop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                calls.Enqueue((DateTime.UtcNow, await LocalMesh.CurlInNetnsAsync(outsiderNetns, url)));
                await Task.Delay(20);
            }
        });
        try
        {
            ClusterManifests.SetNamespaceLabel(mesh, "legacy", Label, "ambient");
            await Eventually.UntilAsync("legacy/outsider captured: ISTIO chains in its netns, Captured in node-1's /pods, tunnel HBONE in the control plane", async () =>
            {
                var rules = await mesh.IptablesAsync("legacy", "outsider");
                var entry = await mesh.AgentPodAsync("node-1", "legacy", "outsider");
                var tunnel = addresses.Workload("legacy", "outsider")?.TunnelProtocol;
                return (rules.HasIstioChains && entry?.State == "Captured" && entry.Listeners.Count == 2 && tunnel == TunnelProtocol.Hbone,
                    $"ISTIO chains {rules.HasIstioChains}, /pods {entry?.State ?? "absent"} listeners [{string.Join(", ", entry?.Listeners ?? [])}], {addresses.Describe("legacy", "outsider")}");
            }, mesh);
            Assert.Empty((await mesh.IptablesAsync("legacy", "outsider")).DuplicateRules);

            // Captured for real: the outsider's new connections now pass through node-1's agent.
            var viaAgent = (await mesh.MetricsAsync("node-1")).Sum(Opened, ("reporter", "source"), ("source_workload", "outsider"));
            var r = await LocalMesh.CurlInNetnsAsync(outsiderNetns, url);
            Assert.True(r.Ok, $"captured outsider → {url} failed: {r}");
            await Eventually.UntilAsync("node-1's agent to count the captured outsider's connection", async () =>
            {
                var now = (await mesh.MetricsAsync("node-1")).Sum(Opened, ("reporter", "source"), ("source_workload", "outsider"));
                return (now > viaAgent, $"{viaAgent} → {now}");
            }, mesh, TimeSpan.FromSeconds(10));

            ClusterManifests.SetNamespaceLabel(mesh, "legacy", Label, null);
            await Eventually.UntilAsync("legacy/outsider released: no ISTIO rules, NotEnrolled in node-1's /pods, no tunnel in the control plane", async () =>
            {
                var rules = await mesh.IptablesAsync("legacy", "outsider");
                var entry = await mesh.AgentPodAsync("node-1", "legacy", "outsider");
                var tunnel = addresses.Workload("legacy", "outsider")?.TunnelProtocol;
                return (rules.IstioLines.Count == 0 && entry?.State == "NotEnrolled" && entry.Listeners.Count == 0 && tunnel == TunnelProtocol.None,
                    $"ISTIO lines {rules.IstioLines.Count}, /pods {entry?.State ?? "absent"}, {addresses.Describe("legacy", "outsider")}");
            }, mesh);

            var released = (await mesh.MetricsAsync("node-1")).Sum(Opened, ("reporter", "source"), ("source_workload", "outsider"));
            r = await LocalMesh.CurlInNetnsAsync(outsiderNetns, url);
            Assert.True(r.Ok, $"released outsider → {url} failed: {r}");
            Assert.Equal(released, (await mesh.MetricsAsync("node-1")).Sum(Opened, ("reporter", "source"), ("source_workload", "outsider")));
        }
        finally
        {
            await stop.CancelAsync();
            await loop;
        }

        var failed = calls.Where(c => !c.Result.Ok).ToArray();
        Output.WriteLine($"{calls.Count} calls from the outsider during the transitions, {failed.Length} failed");
        Assert.True(failed.Length == 0,
            $"{failed.Length} of {calls.Count} calls failed while the namespace was labelled and unlabelled:\n" +
            string.Join("\n", failed.Take(5).Select(f => $"{f.At:HH:mm:ss.fff}: {f.Result}")) + "\n" + await mesh.DiagnosticsAsync());
        Assert.True(calls.Count >= 5, $"only {calls.Count} calls ran during the transitions");

        // The enrolled pods were not disturbed.
        Assert.True((await mesh.IptablesAsync("shop", "client")).HasIstioChains);
        Assert.Equal("Captured", (await mesh.AgentPodAsync("node-1", "shop", "client"))?.State);
    }
}
