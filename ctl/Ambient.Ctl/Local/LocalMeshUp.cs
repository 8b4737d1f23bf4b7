using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Ambient.Ctl.Local;

/// <summary>
/// Builds a mesh with no Kubernetes:
/// <code>
///   fabric netns (bridge) ── veth ── node netns ×N (cni0 bridge, pod CIDR 10.99.i.0/24, ambient-agent)
///                                        └── pod netns ×M (eth0 from the CNI chain, the pod's command)
///   root netns: ambient-controlplane reading the generated manifests; agents reach its xDS and CA over Unix sockets
/// </code>
/// For each pod it does what a kubelet and container runtime do: write the Pod (Pending), run the CNI chain
/// (loopback, then bridge + host-local, then ambient-cni) from the node's netns, start the command in the
/// pod's netns, and record podIPs and Ready for the control plane.
/// </summary>
internal sealed class LocalMeshUp(LocalMeshOptions o, TextWriter log)
{
    private readonly LocalState _state = new() { Prefix = o.Prefix };

    public async Task<int> RunAsync(string manifestDir, CancellationToken ct)
    {
        var manifests = MeshManifests.Load(manifestDir);
        if (LocalState.Load(o.StateDir) is not null || Directory.Exists(o.StateDir))
        {
            log.WriteLine("local mesh: cleaning up a previous run first");
            await LocalMeshDown.RunAsync(o, TextWriter.Null, ct);
        }
        _state.BinDir = Path.GetFullPath(o.BinDir);
        _state.CertTtl = o.CertTtl;
        foreach (var exe in new[] { "ambient-controlplane", "ambient-agent", "ambient-cni" })
        {
            if (!File.Exists(Path.Combine(_state.BinDir, exe)))
                throw new ArgumentException($"{exe} not found in {_state.BinDir}: run `make build` first");
        }
        Directory.CreateDirectory(o.ManifestsDir);
        Directory.CreateDirectory(o.PodStatusDir);
        Directory.CreateDirectory(o.LogsDir);
        _state.Save(o.StateDir);

        await WritePassThroughAsync(manifests);
        await StartControlPlaneAsync(ct);
        await CreateFabricAsync();
        var index = 0;
        foreach (var node in manifests.Nodes)
            await CreateNodeAsync(node, ++index, ct);
        foreach (var pod in manifests.Pods)
            await StartPodAsync(pod, ct);

        log.WriteLine();
        log.WriteLine($"local mesh up: {_state.Nodes.Count} nodes, {_state.Pods.Count} pods; control plane ADS on {o.XdsAddress}, status http://{o.StatusAddress}/ready");
        foreach (var p in _state.Pods)
            log.WriteLine($"  {p.Namespace + "/" + p.Name,-40} {p.Ip,-14} node {p.Node}");
        return 0;
    }

    private async Task WritePassThroughAsync(MeshManifests manifests)
    {
        var text = string.Join("---\n", manifests.PassThrough.Select(MeshManifests.ToYaml));
        await File.WriteAllTextAsync(Path.Combine(o.ManifestsDir, "00-cluster.yaml"), text);
    }

    private async Task StartControlPlaneAsync(CancellationToken ct)
    {
        var exe = Path.Combine(_state.BinDir, "ambient-controlplane");
        _state.ControlPlanePid = Shell.StartDetached(null, Path.Combine(o.LogsDir, "controlplane.log"),
            [exe, "--config-dir", o.ManifestsDir, "--config-dir", o.PodStatusDir, "--xds-address", o.XdsAddress,
             "--xds-socket", o.XdsSocket, "--status-address", o.StatusAddress, "--debounce-ms", "20", "--debounce-max-ms", "200",
             "--secure-address", o.SecureAddress, "--secure-socket", o.CaSocket, "--ca-dir", o.CaDir, "--node-credentials-dir", o.NodeCredentialsDir]);
        _state.Save(o.StateDir);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        await WaitAsync("control plane readiness", TimeSpan.FromSeconds(30), async () =>
        {
            if (!Shell.IsAlive(_state.ControlPlanePid))
                throw new InvalidOperationException($"the control plane exited; see {Path.Combine(o.LogsDir, "controlplane.log")}");
            try
            {
                // Agents need the CA socket and the root it publishes before they start: they verify the CA with it.
                return (await http.GetAsync($"http://{o.StatusAddress}/ready", ct)).IsSuccessStatusCode && File.Exists(o.XdsSocket)
                    && File.Exists(o.CaSocket) && File.Exists(o.RootCertPath);
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                return false;
            }
        });
        log.WriteLine($"control plane up (pid {_state.ControlPlanePid})");
    }

    private async Task CreateFabricAsync()
    {
        _state.FabricNetns = await AddNetnsAsync($"{o.Prefix}-fabric");
        _state.Save(o.StateDir);
        await Shell.InNetnsAsync(_state.FabricNetns, "ip", "link", "set", "lo", "up");
        await Shell.InNetnsAsync(_state.FabricNetns, "ip", "link", "add", "fabric0", "type", "bridge");
        await Shell.InNetnsAsync(_state.FabricNetns, "ip", "link", "set", "fabric0", "up");
    }

    private async Task CreateNodeAsync(string name, int index, CancellationToken ct)
    {
        var node = new LocalState.NodeState
        {
            Name = name,
            PodCidr = $"10.99.{index}.0/24",
            Gateway = $"10.99.{index}.1",
            FabricIp = $"10.98.0.{index}",
            NetworkName = $"{o.Prefix}-{name}",
        };
        node.Netns = await AddNetnsAsync($"{o.Prefix}-node-{name}");
        _state.Nodes.Add(node);
        _state.Save(o.StateDir);

        // Node ↔ fabric link; routes to every other node's pod CIDR are added as nodes appear.
        var hostSide = $"fab{index}";
        await Shell.CheckAsync("ip", "link", "add", hostSide, "netns", Path.GetFileName(_state.FabricNetns), "type", "veth", "peer", "name", "eth0", "netns", Path.GetFileName(node.Netns));
        await Shell.InNetnsAsync(_state.FabricNetns, "ip", "link", "set", hostSide, "master", "fabric0", "up");
        await Shell.InNetnsAsync(node.Netns, "ip", "link", "set", "lo", "up");
        await Shell.InNetnsAsync(node.Netns, "ip", "addr", "add", node.FabricIp + "/24", "dev", "eth0");
        await Shell.InNetnsAsync(node.Netns, "ip", "link", "set", "eth0", "up");
        await Shell.InNetnsAsync(node.Netns, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        foreach (var other in _state.Nodes.Where(n => n != node))
        {
            await Shell.InNetnsAsync(node.Netns, "ip", "route", "add", other.PodCidr, "via", other.FabricIp);
            await Shell.InNetnsAsync(other.Netns, "ip", "route", "add", node.PodCidr, "via", node.FabricIp);
        }

        var nodeDir = LocalAgent.NodeDir(o, name);
        Directory.CreateDirectory(nodeDir);
        node.CniSocket = Path.Combine(nodeDir, "cni.sock");
        node.AdminSocket = Path.Combine(nodeDir, "admin.sock");
        node.ConfList = Path.Combine(nodeDir, "10-ambient-local.conflist");
        var conf = new JsonObject
        {
            ["cniVersion"] = "1.0.0",
            ["name"] = node.NetworkName,
            ["plugins"] = new JsonArray(
                new JsonObject
                {
                    ["type"] = "bridge",
                    ["bridge"] = "cni0",
                    ["isGateway"] = true,
                    ["isDefaultGateway"] = true,
                    ["ipMasq"] = false,
                    ["hairpinMode"] = true,
                    ["ipam"] = new JsonObject
                    {
                        ["type"] = "host-local",
                        ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = node.PodCidr, ["gateway"] = node.Gateway })),
                    },
                },
                new JsonObject { ["type"] = "ambient-cni", ["agentSocket"] = node.CniSocket, ["failPolicy"] = o.FailPolicy }),
        };
        await File.WriteAllTextAsync(node.ConfList, conf.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), ct);

        // The node's CA credential: the control plane accepts it as this node, and only this node's agent gets the file.
        Ambient.Identity.NodeCredentials.Provision(o.NodeCredentialsDir, name);
        await LocalAgent.StartAsync(o, _state, node, ct);
        log.WriteLine($"node {name}: netns {Path.GetFileName(node.Netns)}, pods {node.PodCidr}, agent pid {node.AgentPid}");
    }

    private async Task StartPodAsync(LocalPod pod, CancellationToken ct)
    {
        var node = _state.Nodes.Single(n => n.Name == pod.Node);
        var ps = new LocalState.PodState
        {
            Namespace = pod.Namespace,
            Name = pod.Name,
            Uid = pod.Uid,
            Node = pod.Node,
            ContainerId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)),
            Command = string.Join(' ', pod.Command),
        };
        ps.Netns = await AddNetnsAsync($"{o.Prefix}-{pod.Namespace}-{pod.Name}");
        _state.Pods.Add(ps);
        _state.Save(o.StateDir);

        // The API server knows the pod before its sandbox exists: the agent decides enrolment from it.
        await WritePodAsync(pod, null, ready: false);

        var runtime = new CniRuntime(node.Netns, [o.CniPluginDir, _state.BinDir]);
        var ctx = new CniRuntime.PodContext(ps.ContainerId, ps.Netns, "eth0", pod.Namespace, pod.Name, pod.Uid);
        var conf = (JsonObject)JsonNode.Parse(await File.ReadAllTextAsync(node.ConfList, ct))!;
        await runtime.LoopbackAsync("ADD", ctx, ct);
        // A runtime retries a failed sandbox; so do we, a few times, then give up loudly.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                ps.CniResult = await runtime.AddAsync(conf, ctx, ct);
                break;
            }
            catch (CniRuntime.CniException e) when (attempt < 5)
            {
                log.WriteLine($"pod {pod.Key}: CNI ADD attempt {attempt} failed, retrying: {e.Message}");
                try
                {
                    await runtime.DelAsync(conf, ctx, null, ct);
                }
                catch (CniRuntime.CniException)
                {
                }
                await Task.Delay(500 * attempt, ct);
            }
        }
        var result = JsonNode.Parse(ps.CniResult);
        var cidr = result?["ips"]?[0]?["address"]?.GetValue<string>() ?? throw new InvalidOperationException($"pod {pod.Key}: the CNI result has no IP: {ps.CniResult}");
        ps.Ip = cidr.Split('/')[0];
        _state.Save(o.StateDir);

        ps.Pid = Shell.StartDetached(ps.Netns, Path.Combine(o.LogsDir, $"pod-{pod.Namespace}-{pod.Name}.log"), pod.Command,
            new Dictionary<string, string> { ["POD_NAME"] = pod.Name, ["POD_NAMESPACE"] = pod.Namespace, ["POD_IP"] = ps.Ip });
        _state.Save(o.StateDir);
        await WritePodAsync(pod, ps.Ip, ready: false);
        var ready = await ProbeAsync(pod, ps, ct);
        await WritePodAsync(pod, ps.Ip, ready);
        log.WriteLine($"pod {pod.Key}: {ps.Ip} on {pod.Node}, pid {ps.Pid}{(ready ? "" : " (not ready)")}");
    }

    /// <summary>Ready when the process runs and, if it declares a port, accepts a TCP connection on it (checked from the node).</summary>
    private async Task<bool> ProbeAsync(LocalPod pod, LocalState.PodState ps, CancellationToken ct)
    {
        var port = ProbePort(pod.Manifest);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (!Shell.IsAlive(ps.Pid))
                return false;
            if (port is null)
                return true;
            var r = await Shell.RunAsync("nsenter", [$"--net={ps.Netns}", "--", "timeout", "1", "bash", "-c", $"</dev/tcp/{ps.Ip}/{port}"], timeout: TimeSpan.FromSeconds(5), ct: ct);
            if (r.Ok)
                return true;
            await Task.Delay(100, ct);
        }
        return false;
    }

    private static int? ProbePort(YamlMappingNode pod)
    {
        var spec = MeshManifests.Map(pod, "spec");
        if (!spec.Children.TryGetValue(new YamlScalarNode("containers"), out var c) || c is not YamlSequenceNode containers)
            return null;
        foreach (var container in containers.Children.OfType<YamlMappingNode>())
        {
            var probe = MeshManifests.Map(container, "readinessProbe");
            var p = MeshManifests.Str(MeshManifests.Map(probe, "tcpSocket"), "port") ?? MeshManifests.Str(MeshManifests.Map(probe, "httpGet"), "port");
            if (int.TryParse(p, out var port))
                return port;
            if (container.Children.TryGetValue(new YamlScalarNode("ports"), out var ports) && ports is YamlSequenceNode seq
                && seq.Children.OfType<YamlMappingNode>().Select(x => MeshManifests.Str(x, "containerPort")).FirstOrDefault() is { } cp
                && int.TryParse(cp, out var declared))
                return declared;
        }
        return null;
    }

    /// <summary>The Pod as the API server would hold it after the kubelet's status update.</summary>
    private async Task WritePodAsync(LocalPod pod, string? ip, bool ready)
    {
        var doc = (YamlMappingNode)MeshManifests.Clone(pod.Manifest);
        var spec = MeshManifests.Map(doc, "spec");
        spec.Children[new YamlScalarNode("nodeName")] = new YamlScalarNode(pod.Node);
        doc.Children[new YamlScalarNode("spec")] = spec;
        var status = new YamlMappingNode { { "phase", ip is null ? "Pending" : "Running" } };
        if (ip is not null)
        {
            status.Add("podIP", ip);
            status.Add("podIPs", new YamlSequenceNode(new YamlMappingNode { { "ip", ip } }));
        }
        status.Add("conditions", new YamlSequenceNode(new YamlMappingNode
        {
            { "type", "Ready" },
            { "status", new YamlScalarNode(ready ? "True" : "False") { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted } },
        }));
        doc.Children[new YamlScalarNode("status")] = status;
        var dir = Path.Combine(o.ManifestsDir, "pods");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"{pod.Namespace}.{pod.Name}.yaml");
        await File.WriteAllTextAsync(path + ".tmp", MeshManifests.ToYaml(new YamlDocument(doc)));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private static async Task<string> AddNetnsAsync(string name)
    {
        await Shell.CheckAsync("ip", "netns", "add", name);
        return Path.Combine("/var/run/netns", name);
    }

    private static async Task WaitAsync(string what, TimeSpan timeout, Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
