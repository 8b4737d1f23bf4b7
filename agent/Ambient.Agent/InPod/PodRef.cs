namespace Ambient.Agent.InPod;

/// <summary>A pod as the agent names it. <see cref="Uid"/> is the Kubernetes pod UID, empty while unknown.</summary>
public sealed record PodRef(string Namespace, string Name, string Uid = "")
{
    /// <summary>Registry key: "namespace/name" (unique among running pods).</summary>
    public string Key => Namespace + "/" + Name;

    public override string ToString() => Key;
}
