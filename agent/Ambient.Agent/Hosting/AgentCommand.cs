using System.CommandLine;
using Ambient.Net.Cni;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Hosting;

/// <summary>The command line of <c>ambient-agent</c>; <c>--help</c> documents every flag.</summary>
public static class AgentCommand
{
    public static RootCommand Create(Func<AgentOptions, CancellationToken, Task<int>> run)
    {
        var node = new Option<string>("--node") { Description = "Kubernetes node name this agent serves (default: the host name; env NODE_NAME).", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("NODE_NAME") ?? Environment.MachineName };
        var xds = new Option<string?>("--xds-address") { Description = "Control plane ADS address host:port (plaintext gRPC), e.g. 127.0.0.1:15010. Exclusive with --xds-socket." };
        var xdsSocket = new Option<string?>("--xds-socket") { Description = "Control plane ADS over this Unix socket path instead of --xds-address." };
        var cni = new Option<string>("--cni-socket") { Description = "Unix socket the CNI plugin posts pod ADD/CHECK/DEL to (a stale file is replaced; mode 0660).", DefaultValueFactory = _ => PodHandoff.DefaultSocket };
        var stateDir = new Option<string>("--state-dir") { Description = "Directory of the persisted pod registry (pods.json), used to re-adopt running pods after a restart.", DefaultValueFactory = _ => "/var/run/ambient/agent" };
        var admin = new Option<string>("--admin-address") { Description = "HTTP address of /metrics, /healthz/ready and /pods (ztunnel's 15020/15021/15000 on one port).", DefaultValueFactory = _ => "127.0.0.1:15020" };
        var adminSocket = new Option<string?>("--admin-socket") { Description = "Also serve the admin endpoints on this Unix socket path (for a runner in another network namespace)." };
        var podStatusDir = new Option<string?>("--pod-status-dir") { Description = "Local mode: report each pod's capture (Istio's ambient.istio.io/redirection annotation) as a PodAnnotations manifest in this directory, which the control plane also reads." };
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "Kubernetes mode: patch the redirection annotation on pods/status through this kubeconfig." };
        var inCluster = new Option<bool>("--in-cluster") { Description = "Kubernetes mode with the agent pod's service account." };
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning or Error. Access logs use the category 'access'.", DefaultValueFactory = _ => LogLevel.Information };

        var root = new RootCommand("Ambient node agent: captures enrolled pods' traffic inside their network namespaces (istio-cni node agent role) and proxies it (ztunnel role; plaintext for now).")
        {
            node, xds, xdsSocket, cni, stateDir, admin, adminSocket, podStatusDir, kubeconfig, inCluster, logLevel,
        };
        root.SetAction(async (parse, ct) =>
        {
            try
            {
                var x = parse.GetValue(xds);
                var xs = parse.GetValue(xdsSocket);
                if (x is { Length: > 0 } && xs is { Length: > 0 })
                {
                    throw new ArgumentException("--xds-address and --xds-socket are exclusive");
                }
                if (x is { Length: > 0 })
                {
                    _ = AgentOptions.ParseEndpointOrHost("--xds-address", x);
                }
                var options = new AgentOptions
                {
                    Node = parse.GetValue(node)!,
                    XdsAddress = x is { Length: > 0 } ? x : null,
                    XdsSocket = xs is { Length: > 0 } ? xs : null,
                    CniSocket = parse.GetValue(cni)!,
                    StateDir = parse.GetValue(stateDir)!,
                    AdminAddress = AgentOptions.ParseEndpoint("--admin-address", parse.GetValue(admin)!),
                    AdminSocket = parse.GetValue(adminSocket) is { Length: > 0 } s ? s : null,
                    LogLevel = parse.GetValue(logLevel),
                    PodStatusDir = parse.GetValue(podStatusDir) is { Length: > 0 } d ? d : null,
                    Kubeconfig = parse.GetValue(kubeconfig) is { Length: > 0 } k ? k : null,
                    InCluster = parse.GetValue(inCluster),
                };
                if (options.PodStatusDir is not null && (options.Kubeconfig is not null || options.InCluster))
                    throw new ArgumentException("--pod-status-dir (local mode) and --kubeconfig / --in-cluster (Kubernetes mode) are exclusive");
                return await run(options, ct).ConfigureAwait(false);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"ambient-agent: {e.Message}");
                return 2;
            }
        });
        return root;
    }
}
