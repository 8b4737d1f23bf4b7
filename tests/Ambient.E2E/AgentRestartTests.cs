using Ambient.E2E.Testing;
using Xunit.Abstractions;

namespace Ambient.E2E;

/// <summary>A node agent crash keeps its pods' rules (traffic fails closed) and a restarted agent re-adopts them.</summary>
public sealed class AgentRestartTests(ITestOutputHelper output) : OwnMeshTest(output)
{
    private const string Vip = "http://10.96.0.10/";

    [Fact]
    public async Task NodeAgent_KilledThenRestarted_EnrolledPodStaysCapturedAndOutsiderUntouched()
    {
        var mesh = Mesh;
        var state = mesh.State;
        var oldPid = state.Node("node-1").AgentPid;
        var oldCommand = Proc.CommandLineOf(oldPid);
        Assert.Contains(oldCommand, a => a.EndsWith("/ambient-agent", StringComparison.Ordinal));
        var server = state.Servers[0];

        var ok = await mesh.CurlAsync("shop", "client", Vip);
        Assert.True(ok.Ok, $"client → VIP failed before the crash: {ok}");
        var rulesBefore = await mesh.IptablesAsync("shop", "client");
        Assert.True(rulesBefore.HasIstioChains, rulesBefore.ToString());
        Assert.Empty(rulesBefore.DuplicateRules);

        using (var agent = System.Diagnostics.Process.GetProcessById(oldPid))
        {
            agent.Kill(); // SIGKILL: no chance to clean anything up
        }
        await Eventually.UntilAsync($"node-1's agent (pid {oldPid}) to die", () => Task.FromResult((!Proc.IsRunning(oldPid), "still running")), mesh, TimeSpan.FromSeconds(10));

        // Fail closed: the rules stay, so the client's traffic is redirected to a listener that is gone.
        var rulesWhileDown = await mesh.IptablesAsync("shop", "client");
        Assert.Equal(rulesBefore.Rules, rulesWhileDown.Rules);
        var refused = await mesh.CurlAsync("shop", "client", Vip);
        Assert.False(refused.Ok, $"client → VIP succeeded with node-1's agent dead (traffic escaped the mesh): {refused}");
        // The outsider does not depend on the agent at all.
        Assert.Empty((await mesh.IptablesAsync("legacy", "outsider")).IstioLines);
        var direct = await mesh.CurlAsync("legacy", "outsider", $"http://{server.Ip}:8080/");
        Assert.True(direct.Ok, $"outsider → {server.Ip}:8080 failed while node-1's agent was down: {direct}");

        var restart = await mesh.CtlAsync("local", "restart-agent", "node-1");
        Assert.True(restart.Ok, $"{restart}\n{await mesh.DiagnosticsAsync()}");
        var newPid = mesh.State.Node("node-1").AgentPid;
        Assert.NotEqual(oldPid, newPid);
        Assert.True(Proc.IsRunning(newPid), $"the restarted agent (pid {newPid}) is not running");
        Assert.Equal(oldCommand, Proc.CommandLineOf(newPid));

        // restart-agent returns once the agent is ready, i.e. has re-adopted its pods.
        var back = await mesh.CurlAsync("shop", "client", Vip);
        Assert.True(back.Ok, $"client → VIP failed after the restart: {back}\n{await mesh.DiagnosticsAsync()}");
        Assert.StartsWith("hello from server-", back.Stdout.Trim());
        var rulesAfter = await mesh.IptablesAsync("shop", "client");
        Assert.True(rulesAfter.DuplicateRules.Count == 0, $"duplicate rules after re-adoption: {string.Join("; ", rulesAfter.DuplicateRules)}");
        Assert.Equal(rulesBefore.Rules, rulesAfter.Rules);
        var client = await mesh.AgentPodAsync("node-1", "shop", "client");
        Assert.Equal("Captured", client?.State);
        Assert.Equal(3, client!.Listeners.Count); // 15001, 15006, 15008
        Assert.True((await mesh.MetricsAsync("node-1")).Sum("istio_tcp_connections_opened_total", ("reporter", "source"), ("source_workload", "client")) >= 1,
            "the new agent did not proxy the client's call");

        Assert.Empty((await mesh.IptablesAsync("legacy", "outsider")).IstioLines);
        Assert.Equal("NotEnrolled", (await mesh.AgentPodAsync("node-1", "legacy", "outsider"))?.State);
    }
}
