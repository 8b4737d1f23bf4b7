using System.Text.Json.Serialization;

namespace Ambient.Net.Cni;

/// <summary>
/// The CNI plugin → node agent handoff: HTTP/1.1 over the agent's Unix socket (default
/// <c>/var/run/ambient/cni.sock</c>), JSON bodies, one request per CNI command.
/// <code>
///   POST /v1/cni/add    PodAddRequest  → 200 PodAddResponse {result: captured | not-enrolled}
///                                         4xx/5xx PodErrorResponse {error}   (plugin fails the ADD)
///   POST /v1/cni/check  PodRequest     → 200 PodAddResponse; 409 PodErrorResponse if enrolled but not captured
///   POST /v1/cni/del    PodRequest     → 200 (idempotent: unknown pods and missing netns are fine)
/// </code>
/// The agent answers ADD only once the pod is really captured (rules programmed, listeners bound in its
/// netns) or known not to be enrolled, so no traffic escapes between ADD and capture.
/// </summary>
public static class PodHandoff
{
    public const string DefaultSocket = "/var/run/ambient/cni.sock";
    public const string AddPath = "/v1/cni/add";
    public const string CheckPath = "/v1/cni/check";
    public const string DelPath = "/v1/cni/del";
    public const string ResultCaptured = "captured";
    public const string ResultNotEnrolled = "not-enrolled";
}

/// <summary>Identity of the pod a CNI command is about, from CNI_ARGS and the runtime's environment.</summary>
public record PodRequest
{
    public required string ContainerId { get; init; }

    /// <summary>Path of the pod's network namespace (CNI_NETNS), e.g. /var/run/netns/cni-1234.</summary>
    public string Netns { get; init; } = "";
    public required string PodName { get; init; }
    public required string PodNamespace { get; init; }
    public string PodUid { get; init; } = "";
    public string IfName { get; init; } = "eth0";
}

/// <summary>ADD also carries the addresses the primary CNI assigned (from prevResult).</summary>
public sealed record PodAddRequest : PodRequest
{
    public IReadOnlyList<PodIp> Ips { get; init; } = [];
}

/// <summary>One address from prevResult: CIDR form as CNI reports it ("10.99.1.5/24").</summary>
public sealed record PodIp(string Address, string? Gateway, string? Interface);

public sealed record PodAddResponse(string Result, string? Message = null);

public sealed record PodErrorResponse(string Error);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PodRequest))]
[JsonSerializable(typeof(PodAddRequest))]
[JsonSerializable(typeof(PodAddResponse))]
[JsonSerializable(typeof(PodErrorResponse))]
public sealed partial class PodHandoffJson : JsonSerializerContext;
