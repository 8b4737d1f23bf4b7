using System.Text.Json.Serialization;

namespace Ambient.Agent.InPod;

[JsonConverter(typeof(JsonStringEnumConverter<PodState>))]
public enum PodState
{
    /// <summary>Rules programmed in the pod netns and the agent's listeners bound there.</summary>
    Captured,

    /// <summary>Known to this node (we hold its netns path) but not enrolled: no rules, no listeners.</summary>
    NotEnrolled,

    /// <summary>Enrolled but capture failed (e.g. on re-adoption); retried on the next enrollment event or restart.</summary>
    Pending,
}
