using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;

namespace Ambient.ControlPlane.Sources.Kubernetes;

/// <summary>One line of a watch stream: <c>{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{…}}</c>.</summary>
internal sealed record WatchEvent(WatchEventType Type, JsonObject Object)
{
    /// <summary>Parses one line; a line that is not a watch event is a broken stream (<see cref="FormatException"/>).</summary>
    public static WatchEvent Parse(string line)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(line);
        }
        catch (JsonException e)
        {
            throw new FormatException($"watch stream sent a line that is not JSON: {e.Message}", e);
        }
        if (node is not JsonObject root || root["object"] is not JsonObject obj)
            throw new FormatException("watch stream sent an event without an object");
        var type = KubernetesJsonNodes.String(root["type"]) switch
        {
            "ADDED" => WatchEventType.Added,
            "MODIFIED" => WatchEventType.Modified,
            "DELETED" => WatchEventType.Deleted,
            "BOOKMARK" => WatchEventType.Bookmark,
            "ERROR" => WatchEventType.Error,
            var other => throw new FormatException($"watch stream sent an event of unknown type '{other}'"),
        };
        return new WatchEvent(type, obj);
    }
}
