using System.Net.Sockets;
using Ambient.Agent.InPod;

namespace Ambient.Agent.Proxy;

/// <summary>Serves one accepted connection of a pod listener. Owns <c>accepted</c>; must not throw.</summary>
public interface IConnectionHandler
{
    Task HandleAsync(Socket accepted, CapturedPod pod, CancellationToken cancellationToken);
}
