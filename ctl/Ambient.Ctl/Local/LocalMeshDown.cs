using System.Text.Json.Nodes;

namespace Ambient.Ctl.Local;

/// <summary>
/// Removes everything a local mesh created, in reverse: pod processes, CNI DEL (which releases IPAM and
/// lets the agent remove its rules), pod namespaces, agents, node namespaces (their bridges and veths go
/// with them), the fabric, the control plane, IPAM state and the state directory. Works from a partial state
/// (a crashed `up`) and sweeps namespaces carrying the mesh's prefix that the state no longer names.
/// </summary>
internal static class LocalMeshDown
{
    public static async Task<int> RunAsync(LocalMeshOptions o, TextWriter log, CancellationToken ct)
    {
        var state = LocalState.Load(o.StateDir);
        var problems = new List<string>();
        if (state is not null)
        {
            foreach (var pod in state.Pods)
                await Shell.StopAsync(pod.Pid, pod.Command.Split(' ')[0], TimeSpan.FromSeconds(3));
            foreach (var pod in state.Pods)
            {
                var node = state.Nodes.FirstOrDefault(n => n.Name == pod.Node);
                if (node is null || !File.Exists(node.ConfList))
                    continue;
                try
                {
                    var runtime = new CniRuntime(node.Netns, [o.CniPluginDir, state.BinDir]);
                    var ctx = new CniRuntime.PodContext(pod.ContainerId, pod.Netns, "eth0", pod.Namespace, pod.Name, pod.Uid);
                    var conf = (JsonObject)JsonNode.Parse(await File.ReadAllTextAsync(node.ConfList, ct))!;
                    if (File.Exists(pod.Netns))
                        await runtime.LoopbackAsync("DEL", ctx, ct);
                    await runtime.DelAsync(conf, ctx, pod.CniResult, ct);
                }
                catch (Exception e) when (e is CniRuntime.CniException or InvalidOperationException or TimeoutException)
                {
                    problems.Add($"CNI DEL {pod.Namespace}/{pod.Name}: {e.Message}");
                }
                await DeleteNetnsAsync(pod.Netns, problems);
            }
            foreach (var node in state.Nodes)
                await Shell.StopAsync(node.AgentPid, "ambient-agent", TimeSpan.FromSeconds(5));
            foreach (var node in state.Nodes)
            {
                await DeleteNetnsAsync(node.Netns, problems);
                var ipam = Path.Combine("/var/lib/cni/networks", node.NetworkName);
                if (node.NetworkName.Length > 0 && Directory.Exists(ipam))
                    Directory.Delete(ipam, recursive: true);
            }
            if (state.FabricNetns.Length > 0)
                await DeleteNetnsAsync(state.FabricNetns, problems);
            await Shell.StopAsync(state.ControlPlanePid, "ambient-controlplane", TimeSpan.FromSeconds(5));
        }

        // Sweep leftovers of a crash between creating something and recording it.
        if (Directory.Exists("/var/run/netns"))
        {
            foreach (var ns in Directory.GetFiles("/var/run/netns", o.Prefix + "-*"))
                await DeleteNetnsAsync(ns, problems);
        }
        foreach (var dir in Directory.Exists("/var/lib/cni/networks") ? Directory.GetDirectories("/var/lib/cni/networks", o.Prefix + "-*") : [])
            Directory.Delete(dir, recursive: true);
        foreach (var dir in Directory.Exists("/var/lib/cni/results") ? Directory.GetFiles("/var/lib/cni/results", o.Prefix + "-*") : [])
            File.Delete(dir);
        if (Directory.Exists(o.StateDir))
            Directory.Delete(o.StateDir, recursive: true);

        foreach (var p in problems)
            log.WriteLine($"warning: {p}");
        log.WriteLine(state is null ? "local mesh: nothing was running; leftovers swept" : "local mesh: down");
        return 0;
    }

    private static async Task DeleteNetnsAsync(string path, List<string> problems)
    {
        if (!File.Exists(path))
            return;
        var r = await Shell.RunAsync("ip", ["netns", "delete", Path.GetFileName(path)]);
        if (!r.Ok && File.Exists(path))
            problems.Add($"ip netns delete {Path.GetFileName(path)}: {r.Stderr.Trim()}");
    }
}
