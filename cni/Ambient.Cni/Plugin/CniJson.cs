using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ambient.Cni.Plugin;

/// <summary>Source-generated JSON for what the plugin prints; NativeAOT has no reflection-based serializer.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CniErrorResult))]
[JsonSerializable(typeof(VersionResult))]
internal sealed partial class CniJson : JsonSerializerContext
{
    /// <summary>
    /// Same contracts, but messages keep their quotes and backticks readable in the runtime's log
    /// (the default encoder writes ' as \u0027). Output goes to a pipe, never into HTML.
    /// </summary>
    public static CniJson Output { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
