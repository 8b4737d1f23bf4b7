using System.Net;

namespace Ambient.ControlPlane.Hosting;

/// <summary>Command-line settings of <c>ambient-controlplane</c>, validated before the host starts.</summary>
public sealed record ControlPlaneOptions
{
    /// <summary>Manifest directories (<c>--config-dir</c>, repeatable); empty when a Kubernetes source is used.</summary>
    public IReadOnlyList<string> ConfigDirs { get; init; } = [];

    /// <summary>The first manifest directory, or null; setting it sets <see cref="ConfigDirs"/> to just that one.</summary>
    public string? ConfigDir
    {
        get => ConfigDirs.Count > 0 ? ConfigDirs[0] : null;
        init => ConfigDirs = value is null ? [] : [value];
    }

    /// <summary>
    /// Also serve ADS on this Unix socket (<c>--xds-socket</c>), so agents in other network namespaces reach the
    /// control plane through the filesystem. Clients use <c>localhost</c> as the HTTP/2 authority.
    /// </summary>
    public string? XdsSocket { get; init; }
    public string? Kubeconfig { get; init; }
    public bool InCluster { get; init; }
    public IPEndPoint XdsAddress { get; init; } = new(IPAddress.Loopback, 15010);
    public IPEndPoint StatusAddress { get; init; } = new(IPAddress.Loopback, 15014);

    /// <summary>Parses <c>host:port</c> / <c>[v6]:port</c>, naming the flag in the error.</summary>
    public static IPEndPoint ParseEndpoint(string flag, string value)
    {
        if (IPEndPoint.TryParse(value, out var ep) && ep.Port is > 0 and <= 65535 && value.Contains(':'))
            return ep;
        var colon = value.LastIndexOf(':');
        if (colon > 0 && value[..colon] == "localhost" && int.TryParse(value[(colon + 1)..], out var port) && port is > 0 and <= 65535)
            return new IPEndPoint(IPAddress.Loopback, port);
        throw new ArgumentException($"{flag} '{value}' must be an IP:port such as 127.0.0.1:15010 or [::1]:15010");
    }
}
