using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ambient.Ctl.Local;

/// <summary>
/// Everything `local up` created, persisted as it goes, so `local down` (or the next `up` after a crash)
/// removes exactly that: namespaces by name, processes by PID, IPAM state by network name.
/// </summary>
internal sealed class LocalState
{
    public string Prefix { get; set; } = "amb";
    public string BinDir { get; set; } = "";

    /// <summary>The agents' <c>--cert-ttl</c>, kept so `restart-agent` starts the same command line.</summary>
    public string CertTtl { get; set; } = "24h";
    public int ControlPlanePid { get; set; }
    public List<NodeState> Nodes { get; set; } = [];
    public List<PodState> Pods { get; set; } = [];
    public string FabricNetns { get; set; } = "";

    public sealed class NodeState
    {
        public string Name { get; set; } = "";
        public string Netns { get; set; } = "";
        public string PodCidr { get; set; } = "";
        public string Gateway { get; set; } = "";
        public string FabricIp { get; set; } = "";
        public string NetworkName { get; set; } = "";
        public string ConfList { get; set; } = "";
        public string CniSocket { get; set; } = "";
        public string AdminSocket { get; set; } = "";
        public int AgentPid { get; set; }
    }

    public sealed class PodState
    {
        public string Namespace { get; set; } = "";
        public string Name { get; set; } = "";
        public string Uid { get; set; } = "";
        public string Node { get; set; } = "";
        public string Netns { get; set; } = "";
        public string ContainerId { get; set; } = "";
        public string Ip { get; set; } = "";
        public int Pid { get; set; }
        public string Command { get; set; } = "";

        /// <summary>The CNI chain's final result, kept for DEL and CHECK (libcni caches it the same way).</summary>
        public string CniResult { get; set; } = "";
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    public static string PathIn(string stateDir) => Path.Combine(stateDir, "state.json");

    public static LocalState? Load(string stateDir)
    {
        var path = PathIn(stateDir);
        return File.Exists(path) ? JsonSerializer.Deserialize<LocalState>(File.ReadAllText(path), Json) : null;
    }

    /// <summary>Atomic write: a crash never leaves half a state file.</summary>
    public void Save(string stateDir)
    {
        Directory.CreateDirectory(stateDir);
        var tmp = PathIn(stateDir) + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(this, Json));
        File.Move(tmp, PathIn(stateDir), overwrite: true);
    }
}
