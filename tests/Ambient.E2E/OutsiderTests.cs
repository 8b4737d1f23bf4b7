using Ambient.E2E.Testing;

namespace Ambient.E2E;

/// <summary>legacy/outsider (node-1, namespace not enrolled) is left alone by the mesh.</summary>
[Collection(SharedMeshCollection.Name)]
public sealed class OutsiderTests(SharedMeshFixture fixture)
{
    [Fact]
    public async Task OutsiderPod_NamespaceNotEnrolled_NoRulesNotCapturedAndReachesServerDirectly()
    {
        var mesh = fixture.Mesh;
        var state = mesh.State;
        Assert.Equal("node-1", state.Pod("legacy", "outsider").Node);

        var rules = await mesh.IptablesAsync("legacy", "outsider");
        Assert.True(rules.IstioLines.Count == 0, $"the outsider's netns has ISTIO rules:\n{rules}");

        var entry = await mesh.AgentPodAsync("node-1", "legacy", "outsider");
        Assert.True(entry is not null, "node-1's agent never heard of legacy/outsider (the CNI ADD should have announced it)");
        Assert.Equal("NotEnrolled", entry.State);
        Assert.Empty(entry.Listeners);

        var opened = (await mesh.MetricsAsync("node-1")).Sum("istio_tcp_connections_opened_total", ("source_workload", "outsider"));
        var server = state.Servers[0];
        var r = await mesh.CurlAsync("legacy", "outsider", $"http://{server.Ip}:8080/");
        Assert.True(r.Ok, $"outsider → {server.Ip}:8080 failed: {r}\n{await mesh.DiagnosticsAsync()}");
        Assert.Equal($"hello from {server.Name}", r.Stdout.Trim());

        // Not through node-1's agent: it saw no connection from the outsider, and still has no rules there.
        Assert.Equal(opened, (await mesh.MetricsAsync("node-1")).Sum("istio_tcp_connections_opened_total", ("source_workload", "outsider")));
        Assert.Empty((await mesh.IptablesAsync("legacy", "outsider")).IstioLines);
    }
}
