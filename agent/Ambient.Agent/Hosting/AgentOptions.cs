using System.Net;
using Ambient.Net.Cni;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Hosting;

/// <summary>Static settings of <c>ambient-agent</c>; every one has a flag (see <see cref="AgentCommand"/>).</summary>
public sealed record AgentOptions
{
    /// <summary>Kubernetes node this agent serves (selects its pods' workloads).</summary>
    public string Node { get; init; } = Environment.MachineName;

    /// <summary>Control plane ADS address host:port (plaintext gRPC), or null when <see cref="XdsSocket"/> is used. Read by State/.</summary>
    public string? XdsAddress { get; init; }

    /// <summary>Control plane ADS over a Unix socket. Read by State/.</summary>
    public string? XdsSocket { get; init; }

    /// <summary>Where the CNI plugin reaches the agent (HTTP/1.1, <see cref="PodHandoff"/>).</summary>
    public string CniSocket { get; init; } = PodHandoff.DefaultSocket;

    /// <summary>Directory of the persisted pod registry (pods.json); must survive agent restarts.</summary>
    public string StateDir { get; init; } = "/var/run/ambient/agent";

    /// <summary>Admin, metrics and readiness (HTTP/1.1). Port 0 picks a free port (tests).</summary>
    public IPEndPoint? AdminAddress { get; init; } = new(IPAddress.Loopback, 15020);

    /// <summary>The same admin endpoints on a Unix socket, for a runner in another netns.</summary>
    public string? AdminSocket { get; init; }

    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>Local (file) mode: report capture as PodAnnotations manifests into this directory (read by the control plane).</summary>
    public string? PodStatusDir { get; init; }

    /// <summary>Kubernetes mode: patch the pods' redirection annotation through this kubeconfig…</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>…or with the agent pod's service account.</summary>
    public bool InCluster { get; init; }

    /// <summary>Workload certificates: the CA, its roots, this node's token (<c>--ca-*</c>, <c>--cert-ttl</c>, <c>--trust-domain</c>).</summary>
    public Identity.IdentityOptions Identity { get; init; } = new();

    /// <summary>Parses host:port / [v6]:port; errors name the flag and value.</summary>
    public static IPEndPoint ParseEndpoint(string flag, string value)
    {
        if (IPEndPoint.TryParse(value, out var ep) && value.Contains(':', StringComparison.Ordinal))
        {
            return ep;
        }
        if (value.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase) && int.TryParse(value.AsSpan(10), out int port) && port is >= 0 and <= 65535)
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }
        throw new ArgumentException($"{flag} '{value}' is not an address:port (e.g. 127.0.0.1:15020)");
    }

    /// <summary>Validates host:port where host may be a DNS name (the xDS address).</summary>
    public static (string Host, int Port) ParseEndpointOrHost(string flag, string value)
    {
        int colon = value.LastIndexOf(':');
        if (colon > 0 && int.TryParse(value.AsSpan(colon + 1), out int port) && port is > 0 and <= 65535)
        {
            return (value[..colon].Trim('[', ']'), port);
        }
        throw new ArgumentException($"{flag} '{value}' is not host:port (e.g. 127.0.0.1:15010)");
    }
}
