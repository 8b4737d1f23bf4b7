using System.Text.Json.Nodes;

namespace Ambient.ControlPlane.Sources.Kubernetes;

/// <summary>Lenient reads of the few fields the source itself looks at; everything else is the parser's job.</summary>
internal static class KubernetesJsonNodes
{
    public static string? String(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static JsonObject? Metadata(JsonObject obj) => obj["metadata"] as JsonObject;

    public static string? ResourceVersion(JsonObject obj) =>
        Metadata(obj) is { } m ? String(m["resourceVersion"]) : null;
}
