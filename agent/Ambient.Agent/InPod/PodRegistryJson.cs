using System.Text.Json.Serialization;

namespace Ambient.Agent.InPod;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PodRegistryFile))]
internal sealed partial class PodRegistryJson : JsonSerializerContext;
