using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Ambient.ControlPlane.Hosting;

/// <summary>Where ADS is served: the TCP <c>--xds-address</c>, and optionally a Unix socket (<c>--xds-socket</c>).</summary>
public static class XdsListeners
{
    /// <summary>
    /// The HTTP/2 authority clients of the Unix socket use (there is no host or port to name): gRPC endpoints accept it
    /// in addition to <c>*:&lt;xds port&gt;</c>.
    /// </summary>
    public const string SocketAuthority = "localhost";

    /// <summary>Serves plaintext HTTP/2 (gRPC) on a Unix socket, replacing a stale socket file left by an earlier run.</summary>
    public static void ListenXdsSocket(this KestrelServerOptions kestrel, string path)
    {
        PrepareSocketPath(path, "--xds-socket");
        kestrel.ListenUnixSocket(path, l => l.Protocols = HttpProtocols.Http2);
    }

    /// <summary>
    /// Creates the socket's directory and removes a leftover file at <paramref name="path"/> — unless something is
    /// still accepting connections on it, which means another control plane owns it.
    /// </summary>
    public static void PrepareSocketPath(string path, string flag = "--xds-socket")
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        if (!File.Exists(full))
            return;
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(full));
            }
            catch (SocketException)
            {
                File.Delete(full); // nobody listens: stale
                return;
            }
        }
        throw new IOException($"{flag} '{path}' is in use by another process");
    }

    /// <summary>
    /// Host patterns the gRPC endpoints answer on: the xDS port, the TLS listener's port when it is served
    /// (<paramref name="securePort"/>), and the socket authority when a socket (plaintext, or TLS:
    /// <paramref name="secureSocket"/>) is served.
    /// </summary>
    public static string[] XdsHosts(ControlPlaneOptions options, int? securePort = null, bool secureSocket = false)
    {
        var hosts = new List<string> { $"*:{options.XdsAddress.Port}" };
        if (securePort is { } port)
            hosts.Add($"*:{port}");
        if (options.XdsSocket is not null || secureSocket)
            hosts.Add(SocketAuthority);
        return [.. hosts];
    }
}
