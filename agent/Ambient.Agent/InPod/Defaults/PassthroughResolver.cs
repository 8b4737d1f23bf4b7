using System.Net;

namespace Ambient.Agent.InPod.Defaults;

/// <summary>Resolver without workload state: every destination is passthrough (what ztunnel does for unknown addresses).</summary>
public sealed class PassthroughResolver : IDestinationResolver
{
    public ResolvedDestination Resolve(IPEndPoint originalDestination, PodRef source) => ResolvedDestination.Passthrough(originalDestination);
}
