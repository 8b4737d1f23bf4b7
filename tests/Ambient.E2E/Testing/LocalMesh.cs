using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Ambient.E2E.Testing;

/// <summary>
/// A real local mesh (`out/bin/ambientctl local up examples/…`) with its own --prefix (network namespaces, CNI network
/// names), --state-dir and free control-plane ports, so meshes never collide with each other or with a demo.
/// <see cref="DisposeAsync"/> runs `local down` (also after a failed test) and then fails if anything of the mesh is
/// left: network namespaces with the prefix, IPAM directories, processes, the state directory (whatever it finds it
/// also removes, so a failure never leaks).
/// </summary>
public sealed class LocalMesh : IAsyncDisposable
{
    private static readonly TimeSpan UpTimeout = TimeSpan.FromSeconds(150);
    private static readonly TimeSpan CtlTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan HttpTimeout = TimeSpan.FromSeconds(10);
    private bool _disposed;

    private LocalMesh(string prefix, int xdsPort, int statusPort)
    {
        Prefix = prefix;
        StateDir = Path.Combine(Path.GetTempPath(), "ambient-e2e-" + prefix);
        XdsAddress = $"127.0.0.1:{xdsPort}";
        StatusAddress = $"127.0.0.1:{statusPort}";
    }

    public string Prefix { get; }
    public string StateDir { get; }
    public string XdsAddress { get; }
    public string StatusAddress { get; }

    /// <summary>What `local up` printed.</summary>
    public string UpOutput { get; private set; } = "";

    public MeshState State => MeshState.Load(StateDir);

    public string ManifestsDir => Path.Combine(StateDir, "manifests");

    public string LogsDir => Path.Combine(StateDir, "logs");

    /// <summary>/var/run/netns/PREFIX-NAME: how the runner names every namespace it creates (and `down` sweeps).</summary>
    public string NetnsPath(string name) => Path.Combine("/var/run/netns", $"{Prefix}-{name}");

    public string PodNetns(string ns, string pod) => NetnsPath($"{ns}-{pod}");

    /// <summary>Brings up examples/<paramref name="example"/>; retries with other ports if one was taken meanwhile.</summary>
    public static async Task<LocalMesh> StartAsync(string example = "two-node", params string[] upArgs)
    {
        Root.Require();
        _ = Repo.Ambientctl; // fails with "run make build" when out/bin is incomplete
        for (var attempt = 1; ; attempt++)
        {
            var mesh = new LocalMesh("e2e" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3)), FreePorts.Next(), FreePorts.Next());
            ProcResult up;
            try
            {
                up = await mesh.CtlAsync(UpTimeout, ["local", "up", Repo.ExampleDir(example), .. upArgs]);
            }
            catch
            {
                await mesh.CleanUpAsync();
                throw;
            }
            if (up.Ok)
            {
                mesh.UpOutput = up.Stdout;
                return mesh;
            }
            var controlPlaneLog = mesh.ReadLog("controlplane.log");
            var diagnostics = await mesh.DiagnosticsAsync();
            await mesh.CleanUpAsync();
            if (attempt < 3 && controlPlaneLog.Contains("address already in use", StringComparison.Ordinal))
            {
                continue; // another process took a port between FreePorts.Next() and the bind
            }
            throw new InvalidOperationException($"ambientctl local up failed: {up}\n{diagnostics}");
        }
    }

    /// <summary>ambientctl with this mesh's --state-dir, --prefix, --bin-dir and ports.</summary>
    public Task<ProcResult> CtlAsync(params string[] args) => CtlAsync(CtlTimeout, args);

    public Task<ProcResult> CtlAsync(TimeSpan timeout, params string[] args) =>
        Proc.RunAsync(Repo.Ambientctl,
            ["--state-dir", StateDir, "--prefix", Prefix, "--bin-dir", Repo.BinDir, "--xds-address", XdsAddress, "--status-address", StatusAddress, .. args],
            timeout);

    /// <summary>`ambientctl local exec -n NS POD -- CMD…`.</summary>
    public Task<ProcResult> ExecAsync(string ns, string pod, params string[] command) =>
        CtlAsync(["local", "exec", "-n", ns, pod, "--", .. command]);

    /// <summary>curl from a pod of the mesh (through `local exec`); bounded by curl's own timeouts.</summary>
    public Task<ProcResult> CurlAsync(string ns, string pod, string url) =>
        ExecAsync(ns, pod, "curl", "-sS", "--connect-timeout", "3", "-m", "5", url);

    /// <summary>curl from any network namespace (nsenter): for namespaces the runner does not know.</summary>
    public static Task<ProcResult> CurlInNetnsAsync(string netnsPath, string url) =>
        Proc.RunAsync("nsenter", [$"--net={netnsPath}", "--", "curl", "-sS", "--connect-timeout", "3", "-m", "5", url], TimeSpan.FromSeconds(20));

    public Task<Iptables> IptablesAsync(string ns, string pod) => Iptables.ReadAsync(PodNetns(ns, pod));

    /// <summary>
    /// A pod sandbox's network namespace, named with the mesh's prefix (so `down` sweeps it should the test not get to
    /// delete it), with "lo" up as a runtime's loopback plugin leaves it: the in-pod REDIRECT rules send the pod's own
    /// connections to 127.0.0.1:15001, which needs a working loopback.
    /// </summary>
    public async Task<string> CreateNetnsAsync(string name)
    {
        await Proc.CheckAsync("ip", ["netns", "add", $"{Prefix}-{name}"], TimeSpan.FromSeconds(10));
        await Proc.CheckAsync("nsenter", [$"--net={NetnsPath(name)}", "--", "ip", "link", "set", "lo", "up"], TimeSpan.FromSeconds(10));
        return NetnsPath(name);
    }

    public static async Task DeleteNetnsAsync(string path)
    {
        if (File.Exists(path))
        {
            await Proc.CheckAsync("ip", ["netns", "delete", Path.GetFileName(path)], TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>host-local's reservation file for <paramref name="ip"/> in a node's CNI network.</summary>
    public static bool IpReserved(string networkName, string ip) => File.Exists(Path.Combine("/var/lib/cni/networks", networkName, ip));

    /// <summary>GET on a node agent's admin socket (STATE/nodes/NODE/admin.sock).</summary>
    public async Task<string> AdminGetAsync(string node, string path)
    {
        var socket = Path.Combine(StateDir, "nodes", node, "admin.sock");
        using var http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        }) { Timeout = HttpTimeout };
        using var response = await http.GetAsync("http://localhost" + path);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET {path} on {socket}: HTTP {(int)response.StatusCode}: {body}");
        }
        return body;
    }

    public async Task<IReadOnlyList<AgentPod>> AgentPodsAsync(string node) => AgentPod.Parse(await AdminGetAsync(node, "/pods"));

    public async Task<AgentPod?> AgentPodAsync(string node, string ns, string name) =>
        (await AgentPodsAsync(node)).SingleOrDefault(p => p.Namespace == ns && p.Name == name);

    public async Task<PromText> MetricsAsync(string node) => PromText.Parse(await AdminGetAsync(node, "/metrics"));

    /// <summary>The runner's status, each agent's /pods and the tail of every log: for failure messages.</summary>
    public async Task<string> DiagnosticsAsync()
    {
        var sb = new StringBuilder($"=== mesh {Prefix} (state {StateDir}) ===\n");
        try
        {
            var status = await CtlAsync(TimeSpan.FromSeconds(30), "local", "status");
            sb.Append(status.Stdout).Append(status.Stderr);
        }
        catch (Exception e)
        {
            sb.Append("local status: ").Append(e.Message).Append('\n');
        }
        if (Directory.Exists(Path.Combine(StateDir, "nodes")))
        {
            foreach (var node in Directory.GetDirectories(Path.Combine(StateDir, "nodes")).Select(Path.GetFileName).Order(StringComparer.Ordinal))
            {
                try
                {
                    var pods = await AgentPodsAsync(node!);
                    sb.Append($"{node} /pods: ").AppendJoin(", ", pods.Select(p => $"{p.Key}={p.State}{(p.Error is null ? "" : $" ({p.Error})")}")).Append('\n');
                }
                catch (Exception e)
                {
                    sb.Append($"{node} /pods: {e.Message}\n");
                }
            }
        }
        if (Directory.Exists(LogsDir))
        {
            foreach (var log in Directory.GetFiles(LogsDir).Order(StringComparer.Ordinal))
            {
                var lines = File.ReadAllLines(log);
                if (lines.Length == 0)
                {
                    continue;
                }
                sb.Append($"--- {Path.GetFileName(log)} (last {Math.Min(lines.Length, 25)} of {lines.Length} lines) ---\n");
                foreach (var line in lines.TakeLast(25))
                {
                    sb.Append(line.Length > 400 ? line[..400] + "…" : line).Append('\n');
                }
            }
        }
        return sb.ToString();
    }

    public string ReadLog(string name)
    {
        var path = Path.Combine(LogsDir, name);
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    /// <summary>`local down`, then fails if anything of the mesh remains (after removing it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        var problems = await CleanUpAsync();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"mesh {Prefix}: `local down` left things behind (now removed by the test):\n  " + string.Join("\n  ", problems));
        }
    }

    /// <summary>Runs `local down` and reports (then force-removes) every leftover; never throws.</summary>
    private async Task<List<string>> CleanUpAsync()
    {
        var problems = new List<string>();
        var footprint = await MeshFootprint.CaptureAsync(this);
        try
        {
            var down = await CtlAsync("local", "down");
            if (!down.Ok)
            {
                problems.Add($"local down failed: {down}");
            }
            if (down.Stdout.Contains("warning:", StringComparison.Ordinal))
            {
                problems.Add($"local down warned: {down.Stdout.Trim()}");
            }
        }
        catch (Exception e)
        {
            problems.Add($"local down: {e.Message}");
        }
        var left = footprint.Leftovers();
        problems.AddRange(left.Describe());
        await left.RemoveAsync();
        return problems;
    }
}
