using System.Collections.Immutable;

namespace Ambient.ControlPlane.Model;

/// <summary>The metadata every Kubernetes object carries, reduced to what the mesh reads.</summary>
public sealed record ObjectMeta(
    string Name,
    string Namespace,
    string Uid,
    ImmutableDictionary<string, string> Labels,
    ImmutableDictionary<string, string> Annotations,
    bool Deleting = false,
    ImmutableArray<OwnerReference> Owners = default)
{
    public string Label(string key) => Labels.TryGetValue(key, out var v) ? v : "";
}

public sealed record OwnerReference(string Kind, string Name, bool Controller);
