using System.Text.Json;

namespace Ambient.E2E.Testing;

/// <summary>What `ambientctl local up` recorded in STATE_DIR/state.json (read as JSON: the tests do not link the runner).</summary>
public sealed record MeshState
{
    public string Prefix { get; init; } = "";
    public string BinDir { get; init; } = "";
    public int ControlPlanePid { get; init; }
    public string FabricNetns { get; init; } = "";
    public List<NodeInfo> Nodes { get; init; } = [];
    public List<PodInfo> Pods { get; init; } = [];

    public sealed record NodeInfo
    {
        public string Name { get; init; } = "";
        public string Netns { get; init; } = "";
        public string PodCidr { get; init; } = "";
        public string NetworkName { get; init; } = "";
        public string ConfList { get; init; } = "";
        public string CniSocket { get; init; } = "";
        public string AdminSocket { get; init; } = "";
        public int AgentPid { get; init; }
    }

    public sealed record PodInfo
    {
        public string Namespace { get; init; } = "";
        public string Name { get; init; } = "";
        public string Uid { get; init; } = "";
        public string Node { get; init; } = "";
        public string Netns { get; init; } = "";
        public string Ip { get; init; } = "";
        public int Pid { get; init; }
        public string Command { get; init; } = "";
    }

    public NodeInfo Node(string name) =>
        Nodes.SingleOrDefault(n => n.Name == name) ?? throw new InvalidOperationException($"no node {name} in state.json (nodes: {string.Join(", ", Nodes.Select(n => n.Name))})");

    public PodInfo Pod(string ns, string name) =>
        Pods.SingleOrDefault(p => p.Namespace == ns && p.Name == name)
        ?? throw new InvalidOperationException($"no pod {ns}/{name} in state.json (pods: {string.Join(", ", Pods.Select(p => p.Namespace + "/" + p.Name))})");

    /// <summary>The server Deployment's pods (server-&lt;hash&gt;-&lt;i&gt;).</summary>
    public IReadOnlyList<PodInfo> Servers => Pods.Where(p => p.Namespace == "shop" && p.Name.StartsWith("server-", StringComparison.Ordinal)).ToArray();

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    public static MeshState Load(string stateDir)
    {
        var path = Path.Combine(stateDir, "state.json");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} does not exist: the mesh is not up");
        }
        return JsonSerializer.Deserialize<MeshState>(File.ReadAllText(path), Json) ?? throw new InvalidOperationException($"{path} is empty");
    }
}
