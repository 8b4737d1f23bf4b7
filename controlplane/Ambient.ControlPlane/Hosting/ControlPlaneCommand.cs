using System.CommandLine;
using Ambient.ControlPlane.Model;
using Microsoft.Extensions.Logging;

namespace Ambient.ControlPlane.Hosting;

/// <summary>The command line of <c>ambient-controlplane</c>; <c>--help</c> documents every flag.</summary>
public static class ControlPlaneCommand
{
    public sealed record Settings(ControlPlaneOptions Options, MeshOptions Mesh, TimeSpan DebounceQuiet, TimeSpan DebounceMax, LogLevel LogLevel);

    public static RootCommand Create(Func<Settings, CancellationToken, Task<int>> run)
    {
        var configDir = new Option<string[]>("--config-dir")
        {
            Description = "Directory of Kubernetes YAML manifests to serve (watched; the default source). Repeat it to watch several, e.g. the manifests and the node agent's status directory. Default: /etc/ambient/manifests when no Kubernetes source is selected.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "Read Kubernetes through this kubeconfig instead of a manifest directory." };
        var inCluster = new Option<bool>("--in-cluster") { Description = "Read Kubernetes with the pod's service account (automatic when KUBERNETES_SERVICE_HOST is set and no --config-dir is given)." };
        var xds = new Option<string>("--xds-address") { Description = "Plaintext gRPC address for ADS (SotW and Delta).", DefaultValueFactory = _ => "127.0.0.1:15010" };
        var xdsSocket = new Option<string?>("--xds-socket") { Description = "Also serve ADS on this Unix socket path (a stale socket file is replaced), for agents in other network namespaces." };
        var status = new Option<string>("--status-address") { Description = "HTTP address for /ready, /metrics and /debug/*.", DefaultValueFactory = _ => "127.0.0.1:15014" };
        var trustDomain = new Option<string>("--trust-domain") { Description = "SPIFFE trust domain of workload identities.", DefaultValueFactory = _ => "cluster.local" };
        var domainSuffix = new Option<string>("--domain-suffix") { Description = "DNS suffix of service hostnames (name.ns.svc.SUFFIX).", DefaultValueFactory = _ => "cluster.local" };
        var clusterId = new Option<string>("--cluster-id") { Description = "Cluster id used in workload uids.", DefaultValueFactory = _ => "Kubernetes" };
        var rootNs = new Option<string>("--root-namespace") { Description = "Istio root namespace: policies there without a selector apply mesh-wide.", DefaultValueFactory = _ => "istio-system" };
        var quiet = new Option<int>("--debounce-ms") { Description = "Push a burst of changes once it has been quiet this many milliseconds.", DefaultValueFactory = _ => 100 };
        var max = new Option<int>("--debounce-max-ms") { Description = "…or at the latest this many milliseconds after its first change.", DefaultValueFactory = _ => 1000 };
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning or Error.", DefaultValueFactory = _ => LogLevel.Information };

        var root = new RootCommand("Ambient control plane: Istio-compatible workload discovery (WDS) and Envoy xDS over ADS, from a directory of manifests or Kubernetes.")
        {
            configDir, kubeconfig, inCluster, xds, xdsSocket, status, trustDomain, domainSuffix, clusterId, rootNs, quiet, max, logLevel,
        };
        root.SetAction(async (parse, ct) =>
        {
            try
            {
                var dirs = parse.GetValue(configDir) ?? [];
                var dir = dirs.Length > 0 ? dirs[0] : null;
                var kube = parse.GetValue(kubeconfig);
                var cluster = parse.GetValue(inCluster) || (dir is null && kube is null && Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST") is not null);
                if (dir is not null && (kube is not null || parse.GetValue(inCluster)))
                    throw new ArgumentException("--config-dir and a Kubernetes source (--kubeconfig / --in-cluster) are exclusive");
                var options = new ControlPlaneOptions
                {
                    ConfigDirs = kube is null && !cluster ? (dirs.Length > 0 ? dirs : ["/etc/ambient/manifests"]) : [],
                    Kubeconfig = kube,
                    InCluster = cluster && kube is null,
                    XdsAddress = ControlPlaneOptions.ParseEndpoint("--xds-address", parse.GetValue(xds)!),
                    XdsSocket = parse.GetValue(xdsSocket) is { Length: > 0 } socket ? socket : null,
                    StatusAddress = ControlPlaneOptions.ParseEndpoint("--status-address", parse.GetValue(status)!),
                };
                var q = parse.GetValue(quiet);
                var m = parse.GetValue(max);
                if (q < 0 || m < q)
                    throw new ArgumentException($"--debounce-ms ({q}) must be ≥ 0 and ≤ --debounce-max-ms ({m})");
                var mesh = new MeshOptions
                {
                    TrustDomain = parse.GetValue(trustDomain)!,
                    DomainSuffix = parse.GetValue(domainSuffix)!,
                    ClusterId = parse.GetValue(clusterId)!,
                    RootNamespace = parse.GetValue(rootNs)!,
                };
                return await run(new Settings(options, mesh, TimeSpan.FromMilliseconds(q), TimeSpan.FromMilliseconds(m), parse.GetValue(logLevel)), ct);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"ambient-controlplane: {e.Message}");
                return 2;
            }
        });
        return root;
    }
}
