using System.Text.Json.Nodes;
using Ambient.Cni.Plugin;

namespace Ambient.Cni.Installer;

/// <summary>
/// The pure part of installing: JSON in, JSON out, no file system.
/// <code>
///   10-net.conflist {cniVersion,name,plugins:[p1, (old ambient-cni)]}  → {…, plugins:[p1, ours]}
///   10-net.conf     {cniVersion,name,type,…}                          → 10-net.conflist
///                   {cniVersion,name,plugins:[{the whole old conf}, ours + convertedFrom:"10-net.conf"]}
/// </code>
/// The network name and version stay the primary CNI's: they key the runtime's cached results, so
/// changing them would break DEL of pods that already run. Uninstall reverses both shapes; the
/// <c>convertedFrom</c> mark in our own entry is what lets it give a converted .conf back.
/// </summary>
internal static class ConfListPatcher
{
    public const string PluginType = "ambient-cni";

    /// <summary>Set in our entry when install turned a single .conf into a .conflist.</summary>
    public const string ConvertedFromKey = "convertedFrom";

    public static bool IsConfList(string fileName) => fileName.EndsWith(".conflist", StringComparison.Ordinal);

    /// <summary>Null when <paramref name="config"/> is a config the runtime would load, else why not.</summary>
    public static string? Validate(string fileName, JsonNode? config)
    {
        if (config is not JsonObject obj)
        {
            return "not a JSON object";
        }

        if (!IsString(obj["name"]))
        {
            return "no network name";
        }

        if (!IsConfList(fileName))
        {
            return IsString(obj["type"]) ? null : "no plugin type";
        }

        if (obj["plugins"] is not JsonArray { Count: > 0 } plugins)
        {
            return "no plugins";
        }

        for (var i = 0; i < plugins.Count; i++)
        {
            if (plugins[i] is not JsonObject plugin || !IsString(plugin["type"]))
            {
                return $"plugins[{i}] has no type";
            }
        }

        return null;
    }

    /// <summary>Appends <paramref name="entry"/> (replacing any older ambient-cni entry).</summary>
    public static ConfWrite Patch(string fileName, JsonObject config, JsonObject entry)
    {
        CheckVersion(fileName, config);
        if (IsConfList(fileName))
        {
            var list = config.DeepClone().AsObject();
            var plugins = (JsonArray)list["plugins"]!;
            var replaced = entry.DeepClone().AsObject();
            if (RemoveOurs(plugins) is { } convertedFrom)
            {
                replaced[ConvertedFromKey] = convertedFrom; // a reinstall must not forget what uninstall restores
            }

            plugins.Add((JsonNode)replaced);
            return new ConfWrite(fileName, list, RemoveFileName: null);
        }

        var ours = entry.DeepClone().AsObject();
        ours[ConvertedFromKey] = fileName;
        var converted = new JsonObject
        {
            ["cniVersion"] = config["cniVersion"]?.DeepClone(),
            ["name"] = config["name"]!.DeepClone(),
            ["plugins"] = new JsonArray(config.DeepClone(), ours),
        };
        return new ConfWrite(ConfListName(fileName), converted, RemoveFileName: fileName);
    }

    /// <summary>
    /// Removes our entries from a conflist; null when it has none. A conflist install converted from a
    /// .conf, and that holds only that .conf again, becomes the .conf again.
    /// </summary>
    public static ConfWrite? Unpatch(string fileName, JsonObject config)
    {
        if (!IsConfList(fileName) || config["plugins"] is not JsonArray original || !original.Any(IsOurs))
        {
            return null;
        }

        var list = config.DeepClone().AsObject();
        var plugins = (JsonArray)list["plugins"]!;
        var convertedFrom = RemoveOurs(plugins);
        if (convertedFrom is not null && plugins is [JsonObject single] && !IsConfList(convertedFrom))
        {
            return new ConfWrite(convertedFrom, single.DeepClone().AsObject(), RemoveFileName: fileName);
        }

        // A list of nothing but ours is not a config any more: remove it rather than leave an invalid file.
        return new ConfWrite(fileName, plugins.Count == 0 ? null : list, RemoveFileName: null);
    }

    /// <summary>"10-net.conf" → "10-net.conflist": same base name, so the file keeps its place in the sort.</summary>
    public static string ConfListName(string fileName) => Path.GetFileNameWithoutExtension(fileName) + ".conflist";

    /// <summary>
    /// The runtime hands every plugin of the list the list's cniVersion or, from spec 1.1 on, a version it
    /// picks from <c>cniVersions</c>; if ambient-cni does not speak it, every ADD would fail with code 1.
    /// So both must be versions we speak: cniVersion when present, and at least one of cniVersions.
    /// </summary>
    private static void CheckVersion(string fileName, JsonObject config)
    {
        var version = config["cniVersion"] is JsonValue cv && cv.TryGetValue<string>(out var text) ? text : null;
        var versions = config["cniVersions"] as JsonArray;
        var listOk = versions is null
            || versions.Any(v => v is JsonValue value && value.TryGetValue<string>(out var s) && CniVersions.IsSupported(s));
        var versionOk = CniVersions.IsSupported(version) || (version is null && versions is not null);
        if (!listOk || !versionOk)
        {
            var shown = !versionOk
                ? version is null ? "cniVersion is missing" : $"cniVersion is \"{version}\""
                : $"cniVersions [{string.Join(", ", versions!.Select(v => v?.ToJsonString()))}] has none";
            throw new InstallerException(
                $"{fileName}: {shown}; ambient-cni speaks {CniVersions.SupportedList}. " +
                "Configure the primary CNI to write a config of one of those versions");
        }
    }

    /// <summary>Removes every ambient-cni entry; returns the file they say install converted, if any.</summary>
    private static string? RemoveOurs(JsonArray plugins)
    {
        string? convertedFrom = null;
        for (var i = plugins.Count - 1; i >= 0; i--)
        {
            if (!IsOurs(plugins[i]))
            {
                continue;
            }

            if (plugins[i]![ConvertedFromKey] is JsonValue mark && mark.TryGetValue<string>(out var name) && IsPlainFileName(name))
            {
                convertedFrom = name;
            }

            plugins.RemoveAt(i);
        }

        return convertedFrom;
    }

    private static bool IsOurs(JsonNode? plugin) =>
        plugin is JsonObject obj && obj["type"] is JsonValue type && type.TryGetValue<string>(out var t) && t == PluginType;

    /// <summary>The mark names a sibling file; anything with a path in it is not ours to write.</summary>
    private static bool IsPlainFileName(string name) =>
        name.Length > 0 && name is not "." and not ".." && !name.Contains('/') && !name.Contains('\0')
        && (name.EndsWith(".conf", StringComparison.Ordinal) || name.EndsWith(".json", StringComparison.Ordinal));

    private static bool IsString(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var s) && s.Length > 0;
}
