namespace Ambient.Agent.InPod;

/// <summary>On-disk form of the registry (<c>STATE_DIR/pods.json</c>).</summary>
public sealed record PodRegistryFile(int Version, IReadOnlyList<PodEntry> Pods)
{
    public const int CurrentVersion = 1;
}
