using System.Text.Json.Nodes;

namespace Ambient.Ctl.Local;

/// <summary>
/// Invokes a CNI plugin chain exactly as a container runtime (libcni) does: each plugin is exec'd from
/// CNI_PATH with CNI_COMMAND/CNI_CONTAINERID/CNI_NETNS/CNI_IFNAME/CNI_ARGS/CNI_PATH in its environment and
/// its network config on stdin (name and cniVersion from the list, prevResult injected for chained plugins);
/// ADD runs the list in order, DEL in reverse with the cached result. Plugins run inside the node's netns,
/// where a runtime would run them.
/// </summary>
internal sealed class CniRuntime(string nodeNetns, IReadOnlyList<string> cniPath)
{
    public sealed record PodContext(string ContainerId, string Netns, string IfName, string Namespace, string Name, string Uid)
    {
        public string Args => $"IgnoreUnknown=1;K8S_POD_NAMESPACE={Namespace};K8S_POD_NAME={Name};K8S_POD_INFRA_CONTAINER_ID={ContainerId};K8S_POD_UID={Uid}";
    }

    public sealed class CniException(string message) : Exception(message);

    /// <summary>ADD through the whole list; returns the final result JSON.</summary>
    public async Task<string> AddAsync(JsonObject confList, PodContext pod, CancellationToken ct)
    {
        JsonNode? prev = null;
        foreach (var plugin in Plugins(confList))
        {
            var result = await ExecAsync("ADD", confList, plugin, prev, pod, ct);
            prev = JsonNode.Parse(result) ?? throw new CniException($"plugin {Type(plugin)} returned no result");
        }
        return prev?.ToJsonString() ?? "{}";
    }

    public async Task DelAsync(JsonObject confList, PodContext pod, string? cachedResult, CancellationToken ct)
    {
        var prev = string.IsNullOrEmpty(cachedResult) ? null : JsonNode.Parse(cachedResult);
        var errors = new List<string>();
        foreach (var plugin in Plugins(confList).Reverse())
        {
            try
            {
                await ExecAsync("DEL", confList, plugin, prev, pod, ct);
            }
            catch (CniException e)
            {
                errors.Add(e.Message); // keep going: DEL must release everything it can
            }
        }
        if (errors.Count > 0)
            throw new CniException(string.Join("; ", errors));
    }

    public async Task CheckAsync(JsonObject confList, PodContext pod, string cachedResult, CancellationToken ct)
    {
        var prev = JsonNode.Parse(cachedResult);
        foreach (var plugin in Plugins(confList))
            await ExecAsync("CHECK", confList, plugin, prev, pod, ct);
    }

    /// <summary>The loopback plugin on "lo", as runtimes run it outside the pod's network list.</summary>
    public async Task LoopbackAsync(string command, PodContext pod, CancellationToken ct)
    {
        var conf = new JsonObject { ["cniVersion"] = "1.0.0", ["name"] = "cni-loopback", ["plugins"] = new JsonArray(new JsonObject { ["type"] = "loopback" }) };
        var plugin = Plugins(conf).Single();
        await ExecAsync(command, conf, plugin, null, pod with { IfName = "lo" }, ct);
    }

    private static IEnumerable<JsonObject> Plugins(JsonObject confList) =>
        (confList["plugins"] as JsonArray ?? throw new CniException("conflist has no plugins")).OfType<JsonObject>();

    private static string Type(JsonObject plugin) => plugin["type"]?.GetValue<string>() ?? "?";

    private async Task<string> ExecAsync(string command, JsonObject confList, JsonObject plugin, JsonNode? prev, PodContext pod, CancellationToken ct)
    {
        var type = Type(plugin);
        var binary = cniPath.Select(d => Path.Combine(d, type)).FirstOrDefault(File.Exists)
            ?? throw new CniException($"CNI plugin '{type}' not found in {string.Join(':', cniPath)}");
        var conf = (JsonObject)plugin.DeepClone();
        conf["name"] = confList["name"]?.DeepClone();
        conf["cniVersion"] = confList["cniVersion"]?.DeepClone();
        if (prev is not null)
            conf["prevResult"] = prev.DeepClone();
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = pod.ContainerId,
            ["CNI_NETNS"] = pod.Netns,
            ["CNI_IFNAME"] = pod.IfName,
            ["CNI_ARGS"] = pod.Args,
            ["CNI_PATH"] = string.Join(':', cniPath),
        };
        var r = await Shell.RunAsync("nsenter", [$"--net={nodeNetns}", "--", binary], conf.ToJsonString(), env, TimeSpan.FromSeconds(60), ct);
        if (!r.Ok)
        {
            var msg = r.Stdout.Trim();
            try
            {
                var err = JsonNode.Parse(msg);
                msg = $"code {err?["code"]}: {err?["msg"]}{(err?["details"] is { } d ? " (" + d + ")" : "")}";
            }
            catch (System.Text.Json.JsonException)
            {
            }
            throw new CniException($"{type} {command} failed: {msg} {r.Stderr.Trim()}".Trim());
        }
        return r.Stdout;
    }
}
