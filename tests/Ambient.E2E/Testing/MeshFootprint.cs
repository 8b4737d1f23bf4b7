namespace Ambient.E2E.Testing;

/// <summary>
/// Everything a mesh owns, captured while it runs, to find what survives `local down`: network namespaces named
/// PREFIX-*, IPAM directories /var/lib/cni/networks/PREFIX-*, processes (the recorded pids, anything whose command
/// line names the state directory, anything still inside one of the mesh's network namespaces) and the state directory.
/// </summary>
public sealed class MeshFootprint
{
    private const string NetnsDir = "/var/run/netns";
    private const string IpamDir = "/var/lib/cni/networks";

    private MeshFootprint(string prefix, string stateDir, IReadOnlyList<(string What, int Pid)> pids, IReadOnlySet<string> netnsIds)
    {
        Prefix = prefix;
        StateDir = stateDir;
        Pids = pids;
        NetnsIds = netnsIds;
    }

    public string Prefix { get; }
    public string StateDir { get; }

    /// <summary>Pids recorded in state.json: control plane, agents, pods.</summary>
    public IReadOnlyList<(string What, int Pid)> Pids { get; }

    /// <summary>The mesh's network namespaces as /proc/PID/ns/net shows them ("net:[inode]").</summary>
    public IReadOnlySet<string> NetnsIds { get; }

    public static async Task<MeshFootprint> CaptureAsync(LocalMesh mesh)
    {
        var pids = new List<(string, int)>();
        if (File.Exists(Path.Combine(mesh.StateDir, "state.json")))
        {
            try
            {
                var s = mesh.State;
                pids.Add(("control plane", s.ControlPlanePid));
                pids.AddRange(s.Nodes.Select(n => ($"agent {n.Name}", n.AgentPid)));
                pids.AddRange(s.Pods.Select(p => ($"pod {p.Namespace}/{p.Name}", p.Pid)));
            }
            catch (Exception e) when (e is IOException or System.Text.Json.JsonException or InvalidOperationException)
            {
            }
        }
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var ns in NetnsNames(mesh.Prefix))
        {
            if (await NetnsIdAsync(Path.Combine(NetnsDir, ns)) is { } id)
            {
                ids.Add(id);
            }
        }
        return new MeshFootprint(mesh.Prefix, mesh.StateDir, pids, ids);
    }

    public static IReadOnlyList<string> NetnsNames(string prefix) =>
        Directory.Exists(NetnsDir) ? Directory.GetFiles(NetnsDir, prefix + "-*").Select(f => Path.GetFileName(f)).ToArray() : [];

    public static IReadOnlyList<string> IpamDirs(string prefix) =>
        Directory.Exists(IpamDir) ? Directory.GetDirectories(IpamDir, prefix + "-*") : [];

    /// <summary>"net:[inode]" of a bound namespace file, as the kernel names it in /proc/PID/ns/net.</summary>
    private static async Task<string?> NetnsIdAsync(string path)
    {
        // A bound netns file is an nsfs inode; stat's inode number is the namespace's id.
        try
        {
            var r = await Proc.RunAsync("stat", ["-L", "-c", "%i", path], TimeSpan.FromSeconds(10));
            return r.Ok ? $"net:[{r.Stdout.Trim()}]" : null;
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    /// <summary>Processes that belong to the mesh and still run.</summary>
    public IReadOnlyList<(int Pid, string Why, string CommandLine)> LiveProcesses()
    {
        var found = new Dictionary<int, (string Why, string Cmd)>();
        foreach (var (what, pid) in Pids)
        {
            if (Proc.IsRunning(pid) && Belongs(pid, out _))
            {
                found[pid] = ($"recorded as {what}", string.Join(' ', Proc.CommandLineOf(pid)));
            }
        }
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId || found.ContainsKey(pid) || !Proc.IsRunning(pid))
            {
                continue;
            }
            if (Belongs(pid, out var why))
            {
                found[pid] = (why, string.Join(' ', Proc.CommandLineOf(pid)));
            }
        }
        return found.Select(kv => (kv.Key, kv.Value.Why, kv.Value.Cmd)).ToArray();
    }

    /// <summary>Its command line names the state directory, or it lives in one of the mesh's network namespaces.</summary>
    private bool Belongs(int pid, out string why)
    {
        if (string.Join(' ', Proc.CommandLineOf(pid)).Contains(StateDir, StringComparison.Ordinal))
        {
            why = "its command line names the state directory";
            return true;
        }
        try
        {
            var ns = new FileInfo($"/proc/{pid}/ns/net").LinkTarget;
            if (ns is not null && NetnsIds.Contains(ns))
            {
                why = $"it runs in the mesh's network namespace {ns}";
                return true;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        why = "";
        return false;
    }

    public Leftovers Leftovers() =>
        new(NetnsNames(Prefix), IpamDirs(Prefix), LiveProcesses(), Directory.Exists(StateDir) ? StateDir : null);
}

/// <summary>What survived `local down`.</summary>
public sealed record Leftovers(
    IReadOnlyList<string> Netns, IReadOnlyList<string> IpamDirs, IReadOnlyList<(int Pid, string Why, string CommandLine)> Processes, string? StateDir)
{
    public bool None => Netns.Count == 0 && IpamDirs.Count == 0 && Processes.Count == 0 && StateDir is null;

    public IEnumerable<string> Describe()
    {
        foreach (var n in Netns)
        {
            yield return $"network namespace {n}";
        }
        foreach (var d in IpamDirs)
        {
            yield return $"IPAM directory {d}";
        }
        foreach (var p in Processes)
        {
            yield return $"process {p.Pid} ({p.Why}): {p.CommandLine}";
        }
        if (StateDir is not null)
        {
            yield return $"state directory {StateDir}";
        }
    }

    /// <summary>Kills the processes (by pid) and removes the namespaces, IPAM directories and state directory.</summary>
    public async Task RemoveAsync()
    {
        foreach (var p in Processes)
        {
            try
            {
                using var proc = System.Diagnostics.Process.GetProcessById(p.Pid);
                proc.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
            }
        }
        foreach (var n in Netns)
        {
            await Proc.RunAsync("ip", ["netns", "delete", n], TimeSpan.FromSeconds(10));
        }
        foreach (var d in IpamDirs)
        {
            try
            {
                Directory.Delete(d, recursive: true);
            }
            catch (IOException)
            {
            }
        }
        if (StateDir is not null)
        {
            try
            {
                Directory.Delete(StateDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
