using System.Net;
using System.Text.Json.Nodes;

namespace Ambient.ControlPlane.Sources.Kubernetes;

/// <summary>
/// The API server refused a request (an HTTP error status) or ended a watch with an ERROR event; both carry a
/// <c>Status</c> whose code says what to do. 410 Gone means the resourceVersion we hold has been compacted away.
/// </summary>
internal sealed class KubernetesApiException(int code, string? reason, string message) : Exception(message)
{
    public int Code { get; } = code;
    public string? Reason { get; } = reason;

    /// <summary>The resourceVersion (or continue token) is too old: only a fresh LIST recovers.</summary>
    public bool IsGone => Code == (int)HttpStatusCode.Gone;

    public bool IsNotFound => Code == (int)HttpStatusCode.NotFound;

    /// <summary>From a <c>Status</c> object, as sent in an ERROR watch event or an error response body.</summary>
    public static KubernetesApiException FromStatus(JsonObject? status, int fallbackCode, string what)
    {
        var code = status?["code"] is JsonValue c && c.TryGetValue<int>(out var n) ? n : fallbackCode;
        var reason = KubernetesJsonNodes.String(status?["reason"]);
        var message = KubernetesJsonNodes.String(status?["message"]);
        var text = $"{what}: {code}{(reason is null ? "" : " " + reason)}{(message is null ? "" : ": " + message)}";
        return new KubernetesApiException(code, reason, text);
    }
}
