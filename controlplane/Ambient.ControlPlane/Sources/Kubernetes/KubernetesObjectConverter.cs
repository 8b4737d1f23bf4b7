using System.Text.Json.Nodes;
using Ambient.ControlPlane.Model;
using k8s;

namespace Ambient.ControlPlane.Sources.Kubernetes;

/// <summary>What one API object became: a validated domain object, or the reason it was rejected.</summary>
internal readonly record struct Conversion(ObjectKey Key, KubeObject? Object, string? Error);

/// <summary>
/// API object → domain record, through the same validating <see cref="ManifestParser"/> the file source uses:
/// the object is serialised to JSON (which is YAML) and parsed like a manifest, so both sources accept and
/// reject exactly the same things.
/// </summary>
internal static class KubernetesObjectConverter
{
    /// <summary>The store key of an object, read leniently so that even an invalid object can be named and deleted.</summary>
    public static ObjectKey KeyOf(KubernetesResource resource, JsonObject obj)
    {
        var meta = KubernetesJsonNodes.Metadata(obj);
        var name = KubernetesJsonNodes.String(meta?["name"]) ?? "";
        var ns = resource.ClusterScoped ? "" : KubernetesJsonNodes.String(meta?["namespace"]) ?? "default";
        return new ObjectKey(resource.Kind, ns, name);
    }

    public static Conversion Convert(KubernetesResource resource, JsonObject obj)
    {
        var key = KeyOf(resource, obj);
        // List items carry no kind/apiVersion; the collection they came from says what they are.
        obj["apiVersion"] = resource.ApiVersion;
        obj["kind"] = resource.Kind;
        // Server-side apply bookkeeping: often the bulk of an object, never read by the mesh.
        KubernetesJsonNodes.Metadata(obj)?.Remove("managedFields");

        ManifestParseResult result;
        try
        {
            result = ManifestParser.Parse($"kubernetes:{key}", KubernetesJson.Serialize(obj));
        }
        catch (Exception e)
        {
            // The parser reports what it validates; anything else it trips over is still this object's problem only.
            return new Conversion(key, null, $"cannot be read: {e.Message}");
        }
        if (!result.Ok)
            return new Conversion(key, null, string.Join("; ", result.Errors.Select(e => $"{e.Field}: {e.Reason}")));
        if (result.Objects is not [var converted] || converted.Key != key)
            return new Conversion(key, null, $"expected one {resource.Kind}, the parser produced {result.Objects.Count} object(s)");
        return new Conversion(key, converted, null);
    }
}
