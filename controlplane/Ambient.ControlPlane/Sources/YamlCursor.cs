using System.Collections.Immutable;
using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Ambient.ControlPlane.Sources;

/// <summary>
/// A position in a YAML document that knows its field path, so every validation error can say
/// "file:line: spec.ports[1].port: must be 1-65535" instead of a bare exception.
/// </summary>
internal readonly struct YamlCursor(string source, YamlNode? node, string path, long line)
{
    public string Source => source;
    public string Path => path;
    public YamlNode? Node => node;
    public bool Exists => node is not null && !IsNull(node);
    /// <summary>
    /// The line of the key (or list item) that holds this value. For a block mapping or list that is the line
    /// naming it, not the line of its first child, which used to be reported.
    /// </summary>
    public long Line => line;

    public static YamlCursor Root(string source, YamlNode node) => new(source, node, "", node.Start.Line);

    public ManifestException Error(string reason) => new(source, Line, path.Length == 0 ? "(document)" : path, reason);

    public YamlCursor this[string field]
    {
        get
        {
            var childPath = path.Length == 0 ? field : path + "." + field;
            // A missing field is reported at the line naming its parent (the `metadata:` key for a missing
            // metadata.name), not at the parent mapping's first child, which may be any other field.
            if (!Exists)
                return new(source, null, childPath, line);
            if (node is not YamlMappingNode map)
                throw Error("expected a mapping");
            foreach (var (k, v) in map.Children)
            {
                if (k is YamlScalarNode s && s.Value == field)
                    return new(source, v, childPath, k.Start.Line);
            }
            return new(source, null, childPath, line);
        }
    }

    public IEnumerable<YamlCursor> Items()
    {
        if (!Exists)
            yield break;
        if (node is not YamlSequenceNode seq)
            throw Error("expected a list");
        var i = 0;
        foreach (var child in seq.Children)
            yield return new(source, child, $"{path}[{i++}]", child.Start.Line);
    }

    public string? StringOrNull()
    {
        if (!Exists)
            return null;
        if (node is not YamlScalarNode s)
            throw Error("expected a string");
        return s.Value;
    }

    public string RequiredString()
    {
        var s = StringOrNull();
        if (string.IsNullOrEmpty(s))
            throw Error("is required");
        return s;
    }

    public int? IntOrNull(int min, int max)
    {
        var s = StringOrNull();
        if (s is null)
            return null;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
            throw Error($"'{s}' is not a number");
        if (v < min || v > max)
            throw Error($"{v} is out of range {min}-{max}");
        return v;
    }

    public bool Bool(bool fallback)
    {
        var s = StringOrNull();
        return s switch
        {
            null => fallback,
            "true" or "True" or "TRUE" => true,
            "false" or "False" or "FALSE" => false,
            _ => throw Error($"'{s}' is not a boolean"),
        };
    }

    public ImmutableArray<string> StringList()
    {
        if (!Exists)
            return [];
        var b = ImmutableArray.CreateBuilder<string>();
        foreach (var item in Items())
            b.Add(item.StringOrNull() ?? throw item.Error("must not be null"));
        return b.ToImmutable();
    }

    public ImmutableDictionary<string, string> StringMap()
    {
        if (!Exists)
            return ImmutableDictionary<string, string>.Empty;
        if (node is not YamlMappingNode map)
            throw Error("expected a mapping of strings");
        var b = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            var key = (k as YamlScalarNode)?.Value;
            var child = new YamlCursor(source, v, $"{path}.{key}", k.Start.Line);
            if (string.IsNullOrEmpty(key))
                throw child.Error("keys must be non-empty strings");
            b[key] = child.StringOrNull() ?? "";
        }
        return b.ToImmutable();
    }

    private static bool IsNull(YamlNode n) =>
        n is YamlScalarNode { Style: not YamlDotNet.Core.ScalarStyle.SingleQuoted and not YamlDotNet.Core.ScalarStyle.DoubleQuoted } s
        && (s.Value is null or "" or "~" or "null" or "Null" or "NULL");
}
