using System.Text.Json.Serialization;
using Ambient.Agent.Identity;
using Ambient.Agent.InPod;

namespace Ambient.Agent.Admin;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<PodStatus>))]
[JsonSerializable(typeof(ReadinessReport))]
[JsonSerializable(typeof(IReadOnlyList<CertificateStatus>))]
internal sealed partial class AdminJson : JsonSerializerContext;

internal sealed record ReadinessReport(bool Ready, IReadOnlyList<string> Pending);
