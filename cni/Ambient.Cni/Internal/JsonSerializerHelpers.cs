using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ambient.Cni.Internal;

/// <summary>Writes JsonNode trees without the reflection-based serializer (NativeAOT safe).</summary>
internal static class JsonSerializerHelpers
{
    /// <summary>Compact UTF-8 JSON; '+', '&lt;' and non-ASCII stay as they are instead of \u escapes.</summary>
    public static byte[] ToUtf8(JsonNode node, bool indented = false)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Indented = indented,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            node.WriteTo(writer);
        }

        return buffer.ToArray();
    }
}
