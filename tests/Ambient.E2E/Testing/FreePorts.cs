using System.Net;
using System.Net.Sockets;

namespace Ambient.E2E.Testing;

/// <summary>
/// Loopback TCP ports that were free a moment ago, never the same one twice in this process. Another process may still
/// take one before the control plane binds it; <see cref="LocalMesh.StartAsync"/> retries with new ports when that happens.
/// </summary>
public static class FreePorts
{
    private static readonly HashSet<int> Handed = [];

    public static int Next()
    {
        while (true)
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            lock (Handed)
            {
                if (Handed.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
