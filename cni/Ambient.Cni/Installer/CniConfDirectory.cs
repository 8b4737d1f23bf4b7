using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ambient.Cni.Installer;

/// <summary>
/// Reads the conf dir the way libcni does: files ending in .conf, .conflist or .json, sorted by name
/// (ordinal), the first one that loads wins. .json files are single configs, like .conf.
/// </summary>
internal static class CniConfDirectory
{
    private static readonly string[] Extensions = [".conf", ".conflist", ".json"];

    /// <summary>Config file names in load order; none when the directory does not exist yet.</summary>
    public static IReadOnlyList<string> ConfigFiles(string dir)
    {
        if (!Directory.Exists(dir))
        {
            return [];
        }

        var names = new List<string>();
        foreach (var path in Directory.EnumerateFiles(dir))
        {
            var name = Path.GetFileName(path);
            if (!name.StartsWith('.') && Extensions.Any(e => name.EndsWith(e, StringComparison.Ordinal)))
            {
                names.Add(name);
            }
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>Parses one config file; null (with the reason) when it is not JSON or not a config.</summary>
    public static JsonObject? TryLoad(string dir, string name, out string? reason)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllBytes(Path.Combine(dir, name)),
                documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            reason = e.Message;
            return null;
        }

        reason = ConfListPatcher.Validate(name, node);
        return reason is null ? node!.AsObject() : null;
    }

    /// <summary>The config the runtime uses: the first valid one. Invalid ones are reported and skipped.</summary>
    public static (string Name, JsonObject Config)? FindPrimary(string dir, Action<string> report)
    {
        foreach (var name in ConfigFiles(dir))
        {
            if (TryLoad(dir, name, out var reason) is { } config)
            {
                return (name, config);
            }

            report($"skipping {Path.Combine(dir, name)}: {reason}");
        }

        return null;
    }
}
