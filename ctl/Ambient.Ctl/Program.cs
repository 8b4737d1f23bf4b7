using System.CommandLine;
using Ambient.Ctl.Local;

// ambientctl: `local up|down|status|exec|restart-agent` runs a whole Ambient mesh in network namespaces on this machine.
var stateDir = new Option<string>("--state-dir") { Description = "Where the local mesh keeps state, logs, sockets and generated manifests.", DefaultValueFactory = _ => "/run/ambient-local", Recursive = true };
var prefix = new Option<string>("--prefix") { Description = "Prefix of every network namespace and CNI network the mesh creates.", DefaultValueFactory = _ => "amb", Recursive = true };
var binDir = new Option<string>("--bin-dir") { Description = "Directory with ambient-controlplane, ambient-agent and ambient-cni.", DefaultValueFactory = _ => "out/bin", Recursive = true };
var cniDir = new Option<string>("--cni-plugin-dir") { Description = "Directory of the CNI plugins bridge, host-local and loopback.", DefaultValueFactory = _ => "/usr/lib/cni", Recursive = true };
var xds = new Option<string>("--xds-address") { Description = "TCP address the local control plane serves ADS on.", DefaultValueFactory = _ => "127.0.0.1:15010", Recursive = true };
var status = new Option<string>("--status-address") { Description = "HTTP address of the local control plane's status endpoints.", DefaultValueFactory = _ => "127.0.0.1:15014", Recursive = true };
var secure = new Option<string>("--secure-address")
{
    Description = "Also serve the local control plane's CA and xDS over TLS on this address (its CA root and node credentials live in the state directory). Agents always use the CA through <state-dir>/ca.sock, so 'none' (the default) keeps meshes from colliding on 15012.",
    DefaultValueFactory = _ => "none",
    Recursive = true,
};

LocalMeshOptions Options(ParseResult p) => new()
{
    StateDir = Path.GetFullPath(p.GetValue(stateDir)!),
    Prefix = p.GetValue(prefix)!,
    BinDir = p.GetValue(binDir)!,
    CniPluginDir = p.GetValue(cniDir)!,
    XdsAddress = p.GetValue(xds)!,
    StatusAddress = p.GetValue(status)!,
    SecureAddress = p.GetValue(secure)!,
};

var manifests = new Argument<string>("manifests") { Description = "Directory of Kubernetes YAML: Namespaces, ServiceAccounts, Services, Pods or Deployments (spec.nodeName picks the node), policies." };
var certTtl = new Option<string>("--cert-ttl") { Description = "Validity the agents request for workload certificates (s, m, h or d suffix, e.g. 20s to watch renewals at half-life).", DefaultValueFactory = _ => "24h" };
var up = new Command("up", "Build the mesh: control plane, one node namespace and agent per node, each pod in its own namespace via the CNI chain.") { manifests, certTtl };
up.SetAction((p, ct) => Guard(() => new LocalMeshUp(Options(p) with { CertTtl = p.GetValue(certTtl)! }, Console.Out).RunAsync(p.GetValue(manifests)!, ct)));
var down = new Command("down", "Remove everything the mesh created: processes, namespaces, bridges, rules, IPAM state.");
down.SetAction((p, ct) => Guard(() => LocalMeshDown.RunAsync(Options(p), Console.Out, ct)));
var statusCmd = new Command("status", "Show nodes, pods, processes and capture state.");
statusCmd.SetAction((p, ct) => Guard(() => LocalMeshStatus.RunAsync(Options(p), Console.Out, ct)));
var ns = new Option<string>("--namespace", "-n") { Description = "The pod's namespace.", DefaultValueFactory = _ => "default" };
var pod = new Argument<string>("pod") { Description = "Pod name." };
var command = new Argument<string[]>("command") { Description = "Command to run in the pod's network namespace (after --).", Arity = ArgumentArity.ZeroOrMore };
var exec = new Command("exec", "Run a command inside a pod's network namespace.") { ns, pod, command };
exec.SetAction((p, ct) => Guard(() => LocalMeshExec.RunAsync(Options(p), p.GetValue(ns)!, p.GetValue(pod)!, p.GetValue(command) ?? [], ct)));

var nodeArg = new Argument<string>("node") { Description = "Node name, e.g. node-1 (`ambientctl local status` lists them)." };
var restartAgent = new Command("restart-agent", "Stop a node's agent if it runs and start it again with the same command line; it re-adopts the node's captured pods.") { nodeArg };
restartAgent.SetAction((p, ct) => Guard(() => LocalAgent.RestartAsync(Options(p), p.GetValue(nodeArg)!, Console.Out, ct)));

var local = new Command("local", "A whole mesh in network namespaces on this machine, no Kubernetes.") { up, down, statusCmd, exec, restartAgent };
var root = new RootCommand("ambientctl: operate an Ambient mesh.") { local, stateDir, prefix, binDir, cniDir, xds, status, secure };
return await root.Parse(args).InvokeAsync();

static async Task<int> Guard(Func<Task<int>> action)
{
    if (Environment.UserName != "root")
    {
        Console.Error.WriteLine("ambientctl local: needs root (network namespaces, iptables)");
        return 1;
    }
    try
    {
        return await action();
    }
    catch (Exception e) when (e is ArgumentException or InvalidOperationException or TimeoutException or IOException or CniRuntime.CniException)
    {
        Console.Error.WriteLine($"ambientctl: {e.Message}");
        return 1;
    }
}
