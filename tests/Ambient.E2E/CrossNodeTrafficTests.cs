using Ambient.E2E.Testing;

namespace Ambient.E2E;

/// <summary>shop/client (node-1) → Service VIP 10.96.0.10:80 → the two server pods on node-2, through both node agents.</summary>
[Collection(SharedMeshCollection.Name)]
public sealed class CrossNodeTrafficTests(SharedMeshFixture fixture)
{
    private const string Vip = "http://10.96.0.10/";
    private const string Opened = "istio_tcp_connections_opened_total";
    private const string ServiceHost = "server.shop.svc.cluster.local";

    [Fact]
    public async Task ClientToServiceVip_ServersOnOtherNode_BothServersAnswerThroughBothAgents()
    {
        var mesh = fixture.Mesh;
        var state = mesh.State;
        Assert.Equal("node-1", state.Pod("shop", "client").Node);
        var servers = state.Servers;
        Assert.Equal(2, servers.Count);
        Assert.All(servers, s => Assert.Equal("node-2", s.Node));

        var sourceBefore = (await mesh.MetricsAsync("node-1")).Sum(Opened, ("reporter", "source"), ("source_workload", "client"), ("destination_service", ServiceHost));
        var node2Before = await mesh.MetricsAsync("node-2");
        var destinationBefore = servers.ToDictionary(s => s.Name,
            s => node2Before.Sum(Opened, ("reporter", "destination"), ("source_workload", "client"), ("destination_workload", s.Name)));

        const int calls = 6;
        var answers = new List<string>();
        for (var i = 0; i < calls; i++)
        {
            var r = await mesh.CurlAsync("shop", "client", Vip);
            Assert.True(r.Ok, $"call {i + 1} to the VIP failed: {r}\n{await mesh.DiagnosticsAsync()}");
            answers.Add(r.Stdout.Trim());
        }
        Assert.All(answers, a => Assert.Matches("^hello from server-[0-9a-f]{8}-[0-9]+$", a));
        foreach (var s in servers)
        {
            // Round robin over two ready endpoints: each answers about half of the calls.
            var n = answers.Count(a => a == $"hello from {s.Name}");
            Assert.True(n >= calls / 2 - 1, $"{s.Name} answered {n} of {calls} calls: {string.Join(" | ", answers)}");
        }

        // Through both agents: node-1's reports the outbound side (reporter=source), node-2's the inbound side
        // (reporter=destination), one opened connection per call.
        await Eventually.UntilAsync($"node-1's agent to count {calls} more outbound connections from client to {ServiceHost}", async () =>
        {
            var now = (await mesh.MetricsAsync("node-1")).Sum(Opened, ("reporter", "source"), ("source_workload", "client"), ("destination_service", ServiceHost));
            return (now - sourceBefore >= calls, $"{sourceBefore} → {now}");
        }, mesh, TimeSpan.FromSeconds(10));
        await Eventually.UntilAsync($"node-2's agent to count inbound connections from client to each server ({calls} in all)", async () =>
        {
            var node2 = await mesh.MetricsAsync("node-2");
            var deltas = servers.ToDictionary(s => s.Name,
                s => node2.Sum(Opened, ("reporter", "destination"), ("source_workload", "client"), ("destination_workload", s.Name)) - destinationBefore[s.Name]);
            return (deltas.Values.All(d => d >= 1) && deltas.Values.Sum() >= calls, string.Join(", ", deltas.Select(kv => $"{kv.Key} +{kv.Value}")));
        }, mesh, TimeSpan.FromSeconds(10));
    }
}
