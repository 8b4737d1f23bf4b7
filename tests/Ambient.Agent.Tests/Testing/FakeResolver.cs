using System.Collections.Concurrent;
using System.Net;
using Ambient.Agent.InPod;

namespace Ambient.Agent.Tests.Testing;

/// <summary>In-memory <see cref="IDestinationResolver"/>: VIP:port → endpoint, everything else passthrough; records calls.</summary>
public sealed class FakeResolver : IDestinationResolver
{
    private readonly ConcurrentDictionary<IPEndPoint, ResolvedDestination> _services = new();

    public ConcurrentQueue<(IPEndPoint Original, PodRef Source)> Calls { get; } = new();

    public void AddService(IPEndPoint vip, IPEndPoint endpoint, string hostname, string workload, string ns) =>
        _services[vip] = new ResolvedDestination(DestinationKind.Service, endpoint, hostname, workload, ns);

    public void AddEmptyService(IPEndPoint vip, string hostname) =>
        _services[vip] = new ResolvedDestination(DestinationKind.NoHealthyEndpoint, vip, hostname);

    public ResolvedDestination Resolve(IPEndPoint originalDestination, PodRef source)
    {
        Calls.Enqueue((originalDestination, source));
        return _services.TryGetValue(originalDestination, out var d) ? d : ResolvedDestination.Passthrough(originalDestination);
    }
}
