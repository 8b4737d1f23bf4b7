using System.CommandLine;
using Ambient.Agent.Identity;
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
        var caAddress = new Option<string?>("--ca-address") { Description = "The CA's TLS gRPC address host:port (istio.v1.auth.IstioCertificateService, the control plane's --secure-address, istiod's 15012). Exclusive with --ca-socket. Without either, workload identities are disabled (plaintext only)." };
        var caSocket = new Option<string?>("--ca-socket") { Description = "The CA's TLS gRPC on this Unix socket path (the control plane's --secure-socket), for agents in another network namespace." };
        var caRootCert = new Option<string?>("--ca-root-cert") { Description = "PEM roots to verify the CA (as istiod.istio-system.svc) and issued certificates against: the control plane's <ca-dir>/root-cert.pem. Watched; a bad edit keeps the previous roots." };
        var caTokenFile = new Option<string?>("--ca-token-file") { Description = "File holding the bearer token the CA authenticates this node by (local mode: <node-credentials-dir>/<node>). Re-read on every request." };
        var certTtl = new Option<string>("--cert-ttl") { Description = "Requested validity of workload certificates (s, m, h or d suffix); renewed at half-life.", DefaultValueFactory = _ => "24h" };
        var trustDomain = new Option<string>("--trust-domain") { Description = "SPIFFE trust domain of the identities this agent requests.", DefaultValueFactory = _ => "cluster.local" };
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning or Error. Access logs use the category 'access'.", DefaultValueFactory = _ => LogLevel.Information };

        var root = new RootCommand("Ambient node agent: captures enrolled pods' traffic inside their network namespaces (istio-cni node agent role) and proxies it (ztunnel role; plaintext for now).")
        {
            node, xds, xdsSocket, cni, stateDir, admin, adminSocket, podStatusDir, kubeconfig, inCluster,
            caAddress, caSocket, caRootCert, caTokenFile, certTtl, trustDomain, logLevel,
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
                    Identity = new IdentityOptions
                    {
                        CaAddress = NonEmpty(parse.GetValue(caAddress)),
                        CaSocket = NonEmpty(parse.GetValue(caSocket)),
                        CaRootCert = NonEmpty(parse.GetValue(caRootCert)),
                        CaTokenFile = NonEmpty(parse.GetValue(caTokenFile)),
                        CertTtl = ParseDuration("--cert-ttl", parse.GetValue(certTtl)!),
                        TrustDomain = parse.GetValue(trustDomain)!,
                    },
                };
                options.Identity.Validate();
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

    private static string? NonEmpty(string? value) => value is { Length: > 0 } ? value : null;

    /// <summary>Durations as <c>90s</c>, <c>30m</c>, <c>24h</c> or <c>7d</c>.</summary>
    public static TimeSpan ParseDuration(string flag, string value)
    {
        if (value.Length >= 2 && long.TryParse(value.AsSpan(0, value.Length - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            switch (value[^1])
            {
                case 's': return TimeSpan.FromSeconds(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 'h': return TimeSpan.FromHours(n);
                case 'd': return TimeSpan.FromDays(n);
            }
        }
        throw new ArgumentException($"{flag} '{value}' must be a positive number with an s, m, h or d suffix, such as 24h");
    }
}
