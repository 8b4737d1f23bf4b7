namespace Ambient.Agent.InPod;

/// <summary>Names of a workload for metrics labels and the access log.</summary>
public sealed record WorkloadInfo(string Name, string Namespace, string? ServiceAccount = null);
