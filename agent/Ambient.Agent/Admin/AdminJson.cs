using System.Text.Json.Serialization;
using Ambient.Agent.InPod;

namespace Ambient.Agent.Admin;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<PodStatus>))]
[JsonSerializable(typeof(ReadinessReport))]
internal sealed partial class AdminJson : JsonSerializerContext;

internal sealed record ReadinessReport(bool Ready, IReadOnlyList<string> Pending);
