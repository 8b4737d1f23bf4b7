using System.CommandLine;
using System.Globalization;
using Ambient.ControlPlane.Ca;
using Ambient.ControlPlane.Model;
using Microsoft.Extensions.Logging;

namespace Ambient.ControlPlane.Hosting;

/// <summary>The command line of <c>ambient-controlplane</c>; <c>--help</c> documents every flag.</summary>
public static class ControlPlaneCommand
{
    public sealed record Settings(ControlPlaneOptions Options, MeshOptions Mesh, TimeSpan DebounceQuiet, TimeSpan DebounceMax, LogLevel LogLevel)
    {
        /// <summary>The CA and its TLS listener (<c>--secure-address</c>, <c>--ca-*</c>, <c>--node-credentials-dir</c>).</summary>
        public CaOptions Ca { get; init; } = new();
    }

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
        var secure = new Option<string>("--secure-address")
        {
            Description = "TLS gRPC address serving the CA (istio.v1.auth.IstioCertificateService) and ADS, as istiod's 15012; 'none' disables both.",
            DefaultValueFactory = _ => "127.0.0.1:15012",
        };
        var secureSocket = new Option<string?>("--secure-socket")
        {
            Description = "Also serve the TLS gRPC (CA and ADS, same certificate) on this Unix socket path, for agents in other network namespaces; clients use the authority 'localhost'. Enables the CA even with --secure-address none.",
        };
        var secureDns = new Option<string[]>("--secure-dns-name")
        {
            Description = $"Extra DNS name for the TLS listener's certificate (repeatable); it always names {CaOptions.IstiodHostname}, which clients verify.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var caDir = new Option<string>("--ca-dir")
        {
            Description = "Directory of the generated CA root (ca-cert.pem, ca-key.pem 0600; created once and reused on restart) and of root-cert.pem, the root clients must trust.",
            DefaultValueFactory = _ => CaOptions.DefaultCaDir,
        };
        var caCert = new Option<string?>("--ca-cert") { Description = "PEM CA certificate to sign with (followed by its chain up to the root, if any) instead of a generated root; needs --ca-key." };
        var caKey = new Option<string?>("--ca-key") { Description = "PEM private key (ECDSA or RSA) of --ca-cert." };
        var defaultTtl = new Option<string>("--ca-default-ttl") { Description = "Validity of a workload certificate when the request names none (s, m, h or d suffix).", DefaultValueFactory = _ => "24h" };
        var maxTtl = new Option<string>("--ca-max-ttl") { Description = "Longer requested validities are capped to this (s, m, h or d suffix).", DefaultValueFactory = _ => "90d" };
        var nodeCreds = new Option<string?>("--node-credentials-dir")
        {
            Description = "Local mode CA authentication: one file per node, named after the node, holding its bearer token; a node may get the identities of pods scheduled on it.",
        };
        var trustedNodeAccounts = new Option<string[]>("--ca-trusted-node-account")
        {
            Description = "Kubernetes mode: service account (namespace/name) whose pods may request identities of pods on their node (repeatable). Default: istio-system/ztunnel.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning or Error.", DefaultValueFactory = _ => LogLevel.Information };

        var root = new RootCommand("Ambient control plane: Istio-compatible workload discovery (WDS) and Envoy xDS over ADS, from a directory of manifests or Kubernetes.")
        {
            configDir, kubeconfig, inCluster, xds, xdsSocket, status, secure, secureSocket, secureDns, caDir, caCert, caKey, defaultTtl, maxTtl, nodeCreds,
            trustedNodeAccounts, trustDomain, domainSuffix, clusterId, rootNs, quiet, max, logLevel,
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
                var secureValue = parse.GetValue(secure)!;
                var accounts = parse.GetValue(trustedNodeAccounts) is { Length: > 0 } a ? a : ["istio-system/ztunnel"];
                foreach (var account in accounts)
                {
                    if (account.Split('/') is not [{ Length: > 0 }, { Length: > 0 }])
                        throw new ArgumentException($"--ca-trusted-node-account '{account}' must be namespace/name");
                }
                var ca = new CaOptions
                {
                    SecureAddress = secureValue == "none" ? null : ControlPlaneOptions.ParseEndpoint("--secure-address", secureValue),
                    SecureSocket = parse.GetValue(secureSocket) is { Length: > 0 } ss ? ss : null,
                    ServingDnsNames = [CaOptions.IstiodHostname, .. (parse.GetValue(secureDns) ?? []).Where(n => n != CaOptions.IstiodHostname)],
                    CaDir = parse.GetValue(caDir)!,
                    CaCertPath = parse.GetValue(caCert),
                    CaKeyPath = parse.GetValue(caKey),
                    DefaultTtl = ParseDuration("--ca-default-ttl", parse.GetValue(defaultTtl)!),
                    MaxTtl = ParseDuration("--ca-max-ttl", parse.GetValue(maxTtl)!),
                    NodeCredentialsDir = parse.GetValue(nodeCreds),
                    TrustedNodeAccounts = accounts,
                };
                ca.Validate();
                return await run(new Settings(options, mesh, TimeSpan.FromMilliseconds(q), TimeSpan.FromMilliseconds(m), parse.GetValue(logLevel)) { Ca = ca }, ct);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"ambient-controlplane: {e.Message}");
                return 2;
            }
        });
        return root;
    }

    /// <summary>Durations as <c>90s</c>, <c>30m</c>, <c>24h</c> or <c>90d</c>.</summary>
    public static TimeSpan ParseDuration(string flag, string value)
    {
        if (value.Length >= 2 && long.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
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
