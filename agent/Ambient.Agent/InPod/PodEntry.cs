namespace Ambient.Agent.InPod;

/// <summary>
/// One pod this node's CNI announced: where its netns is and what the agent did with it. Persisted so a
/// restarted agent re-adopts running pods.
/// </summary>
public sealed record PodEntry
{
    public required string Namespace { get; init; }
    public required string Name { get; init; }
    public string Uid { get; init; } = "";
    public string ContainerId { get; init; } = "";
    public required string NetnsPath { get; init; }

    /// <summary>nsfs inode when the entry was made; a different inode at the same path is another sandbox.</summary>
    public ulong NetnsInode { get; init; }

    /// <summary>Pod IPs without prefix length ("10.99.1.5").</summary>
    public IReadOnlyList<string> Ips { get; init; } = [];
    public required PodState State { get; init; }
    public string? Error { get; init; }
    public DateTimeOffset Updated { get; init; }

    public PodRef Ref => new(Namespace, Name, Uid);

    public string Key => Namespace + "/" + Name;
}
