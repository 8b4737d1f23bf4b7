namespace Ambient.Cni.Plugin;

/// <summary>What ADD does when the agent cannot confirm the pod's capture.</summary>
internal enum FailPolicy
{
    /// <summary>Fail the ADD (code 11): the runtime retries, and no traffic leaves the pod uncaptured.</summary>
    Closed,

    /// <summary>Log a warning and pass prevResult through: the pod runs, outside the mesh.</summary>
    Open,
}
