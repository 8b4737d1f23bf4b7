namespace Ambient.Ctl.Local;

/// <summary>Where the local mesh keeps its state and finds its programs.</summary>
internal sealed record LocalMeshOptions
{
    /// <summary>State, logs, generated manifests and sockets. One mesh per state directory.</summary>
    public string StateDir { get; init; } = "/run/ambient-local";

    /// <summary>Prefix of every network namespace and CNI network name the mesh creates.</summary>
    public string Prefix { get; init; } = "amb";

    /// <summary>Directory holding ambient-controlplane, ambient-agent and ambient-cni.</summary>
    public string BinDir { get; init; } = "out/bin";

    /// <summary>Directory of Debian's CNI plugins (bridge, host-local, loopback).</summary>
    public string CniPluginDir { get; init; } = "/usr/lib/cni";

    public string XdsAddress { get; init; } = "127.0.0.1:15010";
    public string StatusAddress { get; init; } = "127.0.0.1:15014";

    /// <summary>The control plane's TLS listener (CA + xDS), or "none".</summary>
    public string SecureAddress { get; init; } = "none";
    public string FailPolicy { get; init; } = "closed";

    /// <summary>Requested validity of workload certificates, passed to every agent (<c>--cert-ttl</c>; renewed at half-life).</summary>
    public string CertTtl { get; init; } = "24h";

    public string ManifestsDir => Path.Combine(StateDir, "manifests");
    public string PodStatusDir => Path.Combine(StateDir, "status");
    public string LogsDir => Path.Combine(StateDir, "logs");
    public string XdsSocket => Path.Combine(StateDir, "xds.sock");

    /// <summary>The control plane's CA root (generated on first start) and root-cert.pem.</summary>
    public string CaDir => Path.Combine(StateDir, "ca");

    /// <summary>One bearer-token file per node for the CA (<c>ambient-controlplane --node-credentials-dir</c>).</summary>
    public string NodeCredentialsDir => Path.Combine(StateDir, "node-credentials");

    /// <summary>The root agents verify the CA and certificates against (written by the control plane at start).</summary>
    public string RootCertPath => Path.Combine(CaDir, "root-cert.pem");

    /// <summary>The control plane's TLS gRPC (CA + xDS) as a Unix socket (<c>--secure-socket</c>): agents in node netns use it.</summary>
    public string CaSocket => Path.Combine(StateDir, "ca.sock");

    /// <summary>A node's CA token file, handed to that node's agent only (<c>--ca-token-file</c>).</summary>
    public string NodeTokenFile(string node) => Ambient.Identity.NodeCredentials.PathOf(NodeCredentialsDir, node);
}
