using System.Collections.Immutable;
using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Ambient.ControlPlane.Sources;

/// <summary>
/// A position in a YAML document that knows its field path, so every validation error can say
/// "file:line: spec.ports[1].port: must be 1-65535" instead of a bare exception.
/// </summary>
internal readonly struct YamlCursor(string source, YamlNode? node, string path, long parentLine)
{
    public string Source => source;
    public string Path => path;
    public YamlNode? Node => node;
    public bool Exists => node is not null && !IsNull(node);
    public long Line => node is null ? parentLine : node.Start.Line;

    public static YamlCursor Root(string source, YamlNode node) => new(source, node, "", node.Start.Line);

    public ManifestException Error(string reason) => new(source, Line, path.Length == 0 ? "(document)" : path, reason);

    public YamlCursor this[string field]
    {
        get
        {
            var childPath = path.Length == 0 ? field : path + "." + field;
            if (!Exists)
                return new(source, null, childPath, Line);
            if (node is not YamlMappingNode map)
                throw Error("expected a mapping");
            foreach (var (k, v) in map.Children)
            {
                if (k is YamlScalarNode s && s.Value == field)
                    return new(source, v, childPath, k.Start.Line);
            }
            return new(source, null, childPath, Line);
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
