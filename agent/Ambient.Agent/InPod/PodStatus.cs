namespace Ambient.Agent.InPod;

/// <summary>One row of <c>GET /pods</c>: the registry entry plus live data-path facts.</summary>
public sealed record PodStatus(PodEntry Pod, IReadOnlyList<string> Listeners, int ActiveConnections);
