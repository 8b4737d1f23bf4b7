namespace Ambient.ControlPlane.Model;

/// <summary>Identifies an object across sources: kind, namespace ("" for cluster-scoped), name.</summary>
public readonly record struct ObjectKey(string Kind, string Namespace, string Name)
{
    public override string ToString() => Namespace.Length == 0 ? $"{Kind}/{Name}" : $"{Kind}/{Namespace}/{Name}";
}

/// <summary>
/// A validated, immutable Kubernetes object. Sources produce these; the snapshot builder reads them.
/// Records compare by reference in the builder's caches: a source that re-reads an unchanged object
/// may hand back an equal one, which only costs a rebuild of that object's resources.
/// </summary>
public abstract record KubeObject(ObjectMeta Meta)
{
    public abstract string Kind { get; }
    public ObjectKey Key => new(Kind, Meta.Namespace, Meta.Name);
}
