namespace Ambient.Net.Redirection;

/// <summary>
/// What a backend found in a pod netns compared with what it would install. Each entry names the table,
/// chain or netlink object and the exact rule text, so a log line says what to look at.
/// </summary>
public sealed record RedirectionInspection(IReadOnlyList<string> Present, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected)
{
    /// <summary>Everything expected is present and nothing else of ours is.</summary>
    public bool Complete => Missing.Count == 0 && Unexpected.Count == 0;

    /// <summary>Nothing of ours is present (the state after remove, or of a pod never captured).</summary>
    public bool Absent => Present.Count == 0 && Unexpected.Count == 0;

    public override string ToString() =>
        Complete ? "complete" : Absent ? "absent" : $"partial: missing [{string.Join("; ", Missing)}] unexpected [{string.Join("; ", Unexpected)}]";
}
