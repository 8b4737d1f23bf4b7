using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ambient.ControlPlane.Discovery;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Ambient.ControlPlane.Tests.Golden;

/// <summary>
/// Renders a snapshot as reviewable protobuf JSON and compares it with a checked-in golden file.
/// <code>
///   {
///     "warnings":  [ ...SnapshotBuilder.Warnings... ],
///     "resources": { "&lt;type url&gt;": [ { "name": ..., "resource": { "@type": ..., ... } }, ... ] }
///   }
/// </code>
/// Type URLs and resource names are sorted ordinally; Any payloads (and the Anys nested in them) are rendered
/// through a <see cref="TypeRegistry"/> of our message types, with proto field names. Zero enums and numbers are
/// kept so a reviewer sees <c>"workload_type": "DEPLOYMENT"</c> or <c>"target_port": 0</c> rather than an absent
/// field; empty lists, empty strings and <c>false</c> are left out as noise (<c>{}</c> stays: it may be a set message
/// such as <c>presence</c>). Bytes fields (IP addresses) are base64, as protobuf JSON has it.
/// Set <c>AMBIENT_UPDATE_GOLDEN=1</c> to (re)write goldens instead of comparing.
/// </summary>
public static class GoldenFile
{
    public const string UpdateVariable = "AMBIENT_UPDATE_GOLDEN";

    public static bool UpdateRequested => Environment.GetEnvironmentVariable(UpdateVariable) == "1";

    /// <summary>Every message type the xDS library declares, so a newly served type renders without touching this file.</summary>
    private static readonly TypeRegistry Registry = TypeRegistry.FromFiles(
        typeof(Ambient.Xds.TypeUrls).Assembly.GetTypes()
            .Select(t => t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static))
            .Where(p => p?.PropertyType == typeof(FileDescriptor))
            .Select(p => (FileDescriptor)p!.GetValue(null)!)
            .ToArray());

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default
        .WithTypeRegistry(Registry)
        .WithPreserveProtoFieldNames(true)
        .WithFormatDefaultValues(true));

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string Render(XdsSnapshot snapshot, IReadOnlyList<string> warnings)
    {
        var resources = new JsonObject();
        foreach (var type in snapshot.Types.Keys.Order(StringComparer.Ordinal))
        {
            var list = new JsonArray();
            foreach (var r in snapshot.Get(type).Items.Values.OrderBy(r => r.Name, StringComparer.Ordinal))
            {
                list.Add(new JsonObject
                {
                    ["name"] = r.Name,
                    ["resource"] = Prune(JsonNode.Parse(Formatter.Format(r.Any))),
                });
            }
            resources[type] = list;
        }
        var root = new JsonObject
        {
            ["warnings"] = new JsonArray([.. warnings.Select(w => (JsonNode?)JsonValue.Create(w))]),
            ["resources"] = resources,
        };
        return root.ToJsonString(Indented).ReplaceLineEndings("\n") + "\n";
    }

    private static JsonNode? Prune(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o.ToList())
                {
                    if (value is JsonArray { Count: 0 }
                        || value is JsonValue v && (v.TryGetValue<string>(out var s) && s.Length == 0 || v.TryGetValue<bool>(out var b) && !b))
                        o.Remove(key);
                    else
                        Prune(value);
                }
                break;
            case JsonArray a:
                foreach (var item in a)
                    Prune(item);
                break;
        }
        return node;
    }

    /// <summary>
    /// Compares <paramref name="actual"/> with the golden at <paramref name="goldenPath"/>. With
    /// <paramref name="update"/>, writes it there (and to <paramref name="alsoWriteTo"/>, the checked-in copy) instead.
    /// </summary>
    public static void Verify(string actual, string goldenPath, bool update, string? alsoWriteTo = null)
    {
        if (update)
        {
            File.WriteAllText(goldenPath, actual);
            if (alsoWriteTo is not null && Directory.Exists(Path.GetDirectoryName(alsoWriteTo)))
                File.WriteAllText(alsoWriteTo, actual);
            return;
        }
        if (!File.Exists(goldenPath))
        {
            var checkedIn = alsoWriteTo is null ? "" : $" (checked in as {alsoWriteTo})";
            Assert.Fail($"golden file {goldenPath}{checkedIn} does not exist. Create it by running the tests with {UpdateVariable}=1 "
                + $"(e.g. `{UpdateVariable}=1 dotnet test tests/Ambient.ControlPlane.Tests --filter FullyQualifiedName~Golden`), "
                + "then review the generated file against Istio's semantics before committing it.");
        }
        var expected = File.ReadAllText(goldenPath).ReplaceLineEndings("\n");
        if (expected == actual)
            return;
        Assert.Fail($"{goldenPath} differs from the built snapshot (rerun with {UpdateVariable}=1 to accept the new output, after reviewing it):\n"
            + FirstDifference(expected, actual));
    }

    /// <summary>The first differing line with a few lines of context: enough to see what changed without a diff tool.</summary>
    public static string FirstDifference(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        var i = 0;
        while (i < e.Length && i < a.Length && e[i] == a[i])
            i++;
        var sb = new StringBuilder();
        sb.AppendLine($"first difference at line {i + 1}:");
        for (var j = Math.Max(0, i - 4); j < i; j++)
            sb.AppendLine("   " + e[j]);
        for (var j = i; j < Math.Min(e.Length, i + 3); j++)
            sb.AppendLine(" - " + e[j]);
        for (var j = i; j < Math.Min(a.Length, i + 3); j++)
            sb.AppendLine(" + " + a[j]);
        return sb.ToString();
    }
}
