using System.Text.Json.Nodes;
using Ambient.E2E.Testing;
using Xunit.Abstractions;

namespace Ambient.E2E;

/// <summary>
/// A pod sandbox created through the reference runtime library (libcni) with node-1's real conflist (bridge + host-local,
/// then ambient-cni): with the agent down ADD fails closed; with it back the pod is captured, CHECK passes, DEL releases.
/// </summary>
public sealed class CniFailClosedTests(ITestOutputHelper output) : OwnMeshTest(output)
{
    [Fact]
    public async Task CniAdd_AgentDownThenBack_FailsClosedThenCapturesChecksAndReleases()
    {
        var mesh = Mesh;
        var node = mesh.State.Node("node-1");
        using var cni = await LibCni.BuildAsync();
        const string podName = "latecomer";
        var sandbox = new LibCni.Sandbox(await mesh.CreateNetnsAsync($"shop-{podName}"),
            Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()), "shop", podName, Guid.NewGuid().ToString());
        // The API server knows the pod before the kubelet creates its sandbox.
        var manifest = ClusterManifests.WritePendingPod(mesh, "shop", "client", podName, sandbox.PodUid);
        try
        {
            // SIGTERM: a stopped agent (rolling update, node drain) rather than a killed one; it closes its listeners
            // and sockets, and keeps its pods' rules.
            await Proc.CheckAsync("kill", ["-TERM", node.AgentPid.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
            await Eventually.UntilAsync($"node-1's agent (pid {node.AgentPid}) to stop", () => Task.FromResult((!Proc.IsRunning(node.AgentPid), "still running")), mesh, TimeSpan.FromSeconds(15));

            var add = await cni.RunAsync("add", node.Netns, node.ConfList, sandbox);
            Assert.True(add.ExitCode != 0, $"ADD succeeded with the agent down: {add}");
            Output.WriteLine($"ADD with the agent down: {add.Stderr.Trim()}");
            Assert.Contains("plugin type=\"ambient-cni\" failed (add)", add.Stderr);
            Assert.Contains(node.CniSocket, add.Stderr);
            Assert.Contains("cni error: code=11", add.Stderr); // try again later: the runtime retries
            Assert.Empty((await Iptables.ReadAsync(sandbox.Netns)).IstioLines);

            // The runtime tears the failed sandbox down: DEL must succeed even with the agent down (and free the IP).
            var delDown = await cni.RunAsync("del", node.Netns, node.ConfList, sandbox);
            Assert.True(delDown.Ok, $"DEL with the agent down failed: {delDown}");

            var restart = await mesh.CtlAsync("local", "restart-agent", "node-1");
            Assert.True(restart.Ok, $"{restart}\n{await mesh.DiagnosticsAsync()}");

            add = await cni.RunAsync("add", node.Netns, node.ConfList, sandbox);
            Assert.True(add.Ok, $"ADD failed with the agent back: {add}\n{await mesh.DiagnosticsAsync()}");
            var ip = JsonNode.Parse(add.Stdout)?["ips"]?[0]?["address"]?.GetValue<string>()?.Split('/')[0];
            Assert.False(string.IsNullOrEmpty(ip), $"no IP in the ADD result: {add.Stdout}");
            Assert.True(LocalMesh.IpReserved(node.NetworkName, ip), $"{ip} is not reserved in /var/lib/cni/networks/{node.NetworkName}");
            var rules = await Iptables.ReadAsync(sandbox.Netns);
            Assert.True(rules.HasIstioChains, $"ADD succeeded but the pod is not captured: {rules}");
            Assert.Empty(rules.DuplicateRules);
            var entry = await mesh.AgentPodAsync("node-1", "shop", podName);
            Assert.Equal("Captured", entry?.State);
            // Its traffic goes through node-1's agent to the servers on node-2.
            var call = await LocalMesh.CurlInNetnsAsync(sandbox.Netns, "http://10.96.0.10/");
            Assert.True(call.Ok, $"the new pod's call to the VIP failed: {call}\n{mesh.ReadLog("agent-node-1.log")}");
            Assert.StartsWith("hello from server-", call.Stdout.Trim());

            var check = await cni.RunAsync("check", node.Netns, node.ConfList, sandbox);
            Assert.True(check.Ok, $"CHECK failed on a captured pod: {check}");

            var del = await cni.RunAsync("del", node.Netns, node.ConfList, sandbox);
            Assert.True(del.Ok, $"DEL failed: {del}");
            Assert.Empty((await Iptables.ReadAsync(sandbox.Netns)).IstioLines);
            Assert.Null(await mesh.AgentPodAsync("node-1", "shop", podName));
            Assert.False(LocalMesh.IpReserved(node.NetworkName, ip), $"{ip} is still reserved after DEL");

            var again = await cni.RunAsync("del", node.Netns, node.ConfList, sandbox);
            Assert.True(again.Ok, $"a repeated DEL failed (DEL must be idempotent): {again}");
        }
        finally
        {
            File.Delete(manifest);
            await LocalMesh.DeleteNetnsAsync(sandbox.Netns);
        }
    }
}
