using System.Text.Json.Nodes;
using Ambient.E2E.Testing;

namespace Ambient.E2E;

/// <summary>A node conflist whose ambient-cni entry is invalid: libcni ADD fails with the plugin's CNI error, nothing is captured.</summary>
[Collection(SharedMeshCollection.Name)]
public sealed class CniConfigTests(SharedMeshFixture fixture)
{
    [Theory]
    [InlineData("failPolicy", "\"sometimes\"", "invalid network config: failPolicy \"sometimes\" must be \"closed\" or \"open\"")]
    [InlineData("agentSocket", "42", "invalid network config: agentSocket \"42\" must be a string, not a number")]
    public async Task CniAdd_InvalidAmbientCniEntry_FailsWithCode7AndCapturesNothing(string key, string jsonValue, string message)
    {
        var mesh = fixture.Mesh;
        var node = mesh.State.Node("node-1");
        using var cni = await LibCni.BuildAsync();
        var conf = JsonNode.Parse(await File.ReadAllTextAsync(node.ConfList))!;
        var entry = conf["plugins"]!.AsArray().Single(p => p?["type"]?.GetValue<string>() == "ambient-cni")!;
        entry[key] = JsonNode.Parse(jsonValue);
        var badConfList = Path.Combine(cni.Dir, "bad.conflist");
        await File.WriteAllTextAsync(badConfList, conf.ToJsonString());

        var podName = "misconfigured-" + key.ToLowerInvariant();
        var sandbox = new LibCni.Sandbox(await mesh.CreateNetnsAsync($"shop-{podName}"),
            Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()), "shop", podName, Guid.NewGuid().ToString());
        string? ip = null;
        try
        {
            var add = await cni.RunAsync("add", node.Netns, badConfList, sandbox);
            Assert.True(add.ExitCode != 0, $"ADD succeeded with an invalid {key}: {add}");
            Assert.Contains("plugin type=\"ambient-cni\" failed (add)", add.Stderr);
            Assert.Contains($"cni error: code=7 msg=\"{message.Replace("\"", "\\\"")}\"", add.Stderr);
            Assert.Empty((await Iptables.ReadAsync(sandbox.Netns)).IstioLines);
            Assert.Null(await mesh.AgentPodAsync("node-1", "shop", podName));
            // bridge + host-local ran before the failing plugin: the address they reserved is released below.
            ip = (await Proc.RunAsync("nsenter", [$"--net={sandbox.Netns}", "--", "ip", "-4", "-o", "addr", "show", "eth0"], TimeSpan.FromSeconds(10)))
                .Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipWhile(w => w != "inet").Skip(1).FirstOrDefault()?.Split('/')[0];
        }
        finally
        {
            // What the runtime does once the config is fixed: DEL with the good conflist (same network) releases the sandbox.
            var del = await cni.RunAsync("del", node.Netns, node.ConfList, sandbox);
            await LocalMesh.DeleteNetnsAsync(sandbox.Netns);
            Assert.True(del.Ok, $"DEL with the node's conflist failed: {del}");
        }
        if (ip is not null)
        {
            Assert.False(LocalMesh.IpReserved(node.NetworkName, ip), $"{ip} is still reserved after DEL");
        }
    }
}
