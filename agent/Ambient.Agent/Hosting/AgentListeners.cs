using System.Net.Sockets;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Ambient.Agent.Hosting;

/// <summary>
/// Kestrel listeners of the agent. The CNI socket and the admin listeners share one server; each connection is
/// tagged with its listener (connection middleware), and requests are routed by that tag, so CNI commands are
/// never served on the admin address and admin pages never on the CNI socket.
/// </summary>
public static class AgentListeners
{
    private const string Tag = "ambient.listener";
    public const string Cni = "cni";
    public const string Admin = "admin";

    public static void Configure(KestrelServerOptions kestrel, AgentOptions options)
    {
        PrepareSocketPath(options.CniSocket, "--cni-socket");
        kestrel.ListenUnixSocket(options.CniSocket, l => Tagged(l, Cni));
        if (options.AdminAddress is { } admin)
        {
            kestrel.Listen(admin, l => Tagged(l, Admin));
        }
        if (options.AdminSocket is { } socket)
        {
            PrepareSocketPath(socket, "--admin-socket");
            kestrel.ListenUnixSocket(socket, l => Tagged(l, Admin));
        }
    }

    /// <summary>Which listener accepted the request's connection.</summary>
    public static string? ListenerOf(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(Tag, out var v) == true ? v as string : null;

    private static void Tagged(ListenOptions listen, string name)
    {
        listen.Protocols = HttpProtocols.Http1;
        listen.Use(next => connection =>
        {
            connection.Items[Tag] = name;
            return next(connection);
        });
    }

    /// <summary>
    /// Creates the socket's directory and removes a stale socket file, unless something still accepts on it
    /// (another agent owns it: refuse to start rather than steal it).
    /// </summary>
    public static void PrepareSocketPath(string path, string flag)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        if (!File.Exists(full))
        {
            return;
        }
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(full));
        }
        catch (SocketException)
        {
            File.Delete(full); // nobody listens: stale
            return;
        }
        throw new IOException($"{flag} '{path}' is in use by another process (is another agent running?)");
    }

    /// <summary>rw for owner and group (the CNI plugin runs as root).</summary>
    public static void RestrictSocket(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        }
    }
}
