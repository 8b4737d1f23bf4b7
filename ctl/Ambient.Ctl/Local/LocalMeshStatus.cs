using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace Ambient.Ctl.Local;

/// <summary>`local status`: what runs, where, and whether each agent has captured each pod.</summary>
internal static class LocalMeshStatus
{
    public static async Task<int> RunAsync(LocalMeshOptions o, TextWriter log, CancellationToken ct)
    {
        var state = LocalState.Load(o.StateDir);
        if (state is null)
        {
            log.WriteLine($"local mesh: not running (no state in {o.StateDir})");
            return 1;
        }
        log.WriteLine($"control plane  pid {state.ControlPlanePid} {(Shell.IsAlive(state.ControlPlanePid) ? "running" : "DEAD")}  ADS {o.XdsAddress}");
        foreach (var node in state.Nodes)
        {
            var captured = await CapturedPodsAsync(node.AdminSocket, ct);
            log.WriteLine($"node {node.Name,-10} agent pid {node.AgentPid} {(Shell.IsAlive(node.AgentPid) ? "running" : "DEAD")}  pods {node.PodCidr}");
            foreach (var pod in state.Pods.Where(p => p.Node == node.Name))
            {
                var capture = captured is null ? "agent unreachable" : captured.Contains($"{pod.Namespace}/{pod.Name}") ? "captured" : "not captured";
                log.WriteLine($"  {pod.Namespace + "/" + pod.Name,-40} {pod.Ip,-14} pid {pod.Pid} {(Shell.IsAlive(pod.Pid) ? "running" : "exited"),-8} {capture}");
            }
        }
        return 0;
    }

    /// <summary>Asks an agent's admin socket for its captured pods (GET /pods → JSON array of {namespace, name, …}).</summary>
    public static async Task<HashSet<string>?> CapturedPodsAsync(string adminSocket, CancellationToken ct)
    {
        if (!File.Exists(adminSocket))
            return null;
        using var http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await s.ConnectAsync(new UnixDomainSocketEndPoint(adminSocket), token);
                return new NetworkStream(s, ownsSocket: true);
            },
        }) { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var doc = await http.GetFromJsonAsync<JsonDocument>("http://localhost/pods", ct);
            var set = new HashSet<string>(StringComparer.Ordinal);
            if (doc is null)
                return set;
            var pods = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement
                : doc.RootElement.TryGetProperty("pods", out var p) ? p : default;
            if (pods.ValueKind != JsonValueKind.Array)
                return set;
            foreach (var entry in pods.EnumerateArray())
            {
                // The agent's /pods lists {pod: {namespace, name, state, …}, listeners, activeConnections}.
                var e = entry.TryGetProperty("pod", out var inner) ? inner : entry;
                var ns = Prop(e, "namespace") ?? Prop(e, "podNamespace");
                var name = Prop(e, "name") ?? Prop(e, "podName");
                var st = Prop(e, "state");
                if (ns is not null && name is not null && (st is null || st.Equals("captured", StringComparison.OrdinalIgnoreCase)))
                    set.Add($"{ns}/{name}");
            }
            return set;
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    private static string? Prop(JsonElement e, string name)
    {
        foreach (var p in e.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase) && p.Value.ValueKind == JsonValueKind.String)
                return p.Value.GetString();
        }
        return null;
    }
}
