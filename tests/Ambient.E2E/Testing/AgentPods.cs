using System.Text.Json;

namespace Ambient.E2E.Testing;

/// <summary>One entry of an agent's GET /pods: the registry entry (state Captured / NotEnrolled / Pending) and its live listeners.</summary>
public sealed record AgentPod(string Namespace, string Name, string State, IReadOnlyList<string> Listeners, string? Error)
{
    public string Key => Namespace + "/" + Name;

    public static IReadOnlyList<AgentPod> Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var list = new List<AgentPod>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            var pod = e.GetProperty("pod");
            list.Add(new AgentPod(
                pod.GetProperty("namespace").GetString()!,
                pod.GetProperty("name").GetString()!,
                pod.GetProperty("state").GetString()!,
                e.TryGetProperty("listeners", out var l) ? l.EnumerateArray().Select(x => x.GetString()!).ToArray() : [],
                pod.TryGetProperty("error", out var err) ? err.GetString() : null));
        }
        return list;
    }
}
